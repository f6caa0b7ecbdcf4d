// Keeps "Tờ khai của tôi" and the QR codes on the phone (the service worker), and says when the
// page shown is a copy kept from earlier because there is no network.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/khai-bao/sw.js", {scope: "/khai-bao/"});
}
function vhdShowOffline() {
  const note = document.getElementById("offline");
  if (note) note.hidden = navigator.onLine;
}
window.addEventListener("online", vhdShowOffline);
window.addEventListener("offline", vhdShowOffline);
document.addEventListener("DOMContentLoaded", vhdShowOffline);

// The wards' list follows the province picked, from /dia-ban/<code>.json; without this script the
// "Chọn" button beside the province sends the form back with the province's wards listed.
document.addEventListener("DOMContentLoaded", () => {
  for (const ward of document.querySelectorAll("select[data-province-field]")) {
    const province = document.getElementById(ward.dataset.provinceField);
    if (!province || !province.dataset.wards) continue;
    const pick = province.parentElement.querySelector("button[name=pick]");
    if (pick) pick.remove();  // Enter in a field sends the form itself, not "Chọn"
    province.addEventListener("change", async () => {
      ward.length = 1;  // the empty choice stays
      if (!province.value) return;
      try {
        const response = await fetch(province.dataset.wards + encodeURIComponent(province.value) + ".json");
        if (!response.ok) return;
        for (const [code, name] of (await response.json()).wards) ward.add(new Option(name, code));
      } catch (error) {
        // no network: the list stays empty and the server says which ward is missing
      }
    });
  }
});
