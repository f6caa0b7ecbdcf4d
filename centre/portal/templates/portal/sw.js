// The portal's service worker: "Tờ khai của tôi", each declaration's page and QR, and the site's
// styles kept on the phone, so a QR opens at a door without signal. Network first (what is shown
// is the newest the phone could get); the cache only when the network fails. Signing out clears
// it (Clear-Site-Data).
const CACHE = "vhd-portal-v1";
const KEEP = [/^\/khai-bao\/cua-toi\/$/, /^\/khai-bao\/to-khai\/[^/]+\/$/, /^\/khai-bao\/to-khai\/[^/]+\/qr\.png$/,
              /^\/static\//];

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.search
      || !KEEP.some((rule) => rule.test(url.pathname))) {
    return;
  }
  event.respondWith(fetch(event.request).then((response) => {
    if (response.ok && !response.redirected) {
      const copy = response.clone();
      event.waitUntil(caches.open(CACHE).then((cache) => cache.put(event.request, copy)));
    }
    return response;
  }).catch(() => caches.match(event.request).then((hit) => hit || Response.error())));
});
