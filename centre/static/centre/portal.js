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
