// Refreshes today's check-ins in place every 5 seconds (the server renders the cards, escaped).
(function () {
  var box = document.getElementById("live");
  if (!box) { return; }
  function refresh() {
    fetch(box.dataset.src, {credentials: "same-origin"}).then(function (r) {
      if (r.ok && r.url.indexOf("/accounts/login/") === -1) { return r.text(); }
      throw new Error("signed out");
    }).then(function (html) { box.innerHTML = html; box.dataset.refreshed = String(Date.now()); })
      .catch(function () {});
  }
  window.vhdRefresh = refresh;
  setInterval(refresh, 5000);
}());
