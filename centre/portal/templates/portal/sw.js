// The portal's service worker: "Tờ khai của tôi", each declaration's page and QR, and the site's
// styles kept on the phone, so a QR opens at a door without signal. Network first (what is shown
// is the newest the phone could get); the cache only when the network fails. Signing out clears
// it (Clear-Site-Data, and here), deleting a declaration clears its page and QR: a copy still
// being written from a page loaded just before is not kept after either. A kept page the site now
// answers with its sign-in page means this phone was signed out elsewhere ("sign out on other
// phones", from a lost one): its copies go too, the first time it is online.
const CACHE = "vhd-portal-v1";
const SIGN_OUT = "{% url 'portal-sign-out' %}";
const SIGN_IN = "{% url 'portal-sign-in' %}";
const DELETE = /^\/khai-bao\/to-khai\/[^/]+\/xoa\/$/;
let forgets = 0;  // copies are kept only if no sign-out or deletion came since their request
const KEEP = [/^\/khai-bao\/cua-toi\/$/, /^\/khai-bao\/to-khai\/[^/]+\/$/, /^\/khai-bao\/to-khai\/[^/]+\/qr\.png$/,
              /^\/static\//];

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method === "POST" && url.origin === self.location.origin && url.pathname === SIGN_OUT) {
    forgets += 1;
    event.waitUntil(caches.delete(CACHE));  // the network still answers the sign-out itself
    return;
  }
  if (event.request.method === "POST" && url.origin === self.location.origin && DELETE.test(url.pathname)) {
    forgets += 1;
    const page = url.pathname.slice(0, -"xoa/".length);
    event.respondWith(fetch(event.request).then((response) => {
      if (response.ok) {  // deleted: its page and QR are not kept either
        event.waitUntil(caches.open(CACHE).then((cache) => Promise.all([cache.delete(page),
                                                                         cache.delete(page + "qr.png")])));
      }
      return response;
    }));
    return;
  }
  if (event.request.method !== "GET" || url.origin !== self.location.origin || url.search
      || !KEEP.some((rule) => rule.test(url.pathname))) {
    return;
  }
  const asked = forgets;
  event.respondWith(fetch(event.request).then((response) => {
    // no longer signed in: a page opened sees the redirect itself, a QR image where it led
    if (response.type === "opaqueredirect" || (response.redirected && new URL(response.url).pathname === SIGN_IN)) {
      forgets += 1;
      event.waitUntil(caches.delete(CACHE));
    } else if (response.ok && !response.redirected) {
      const copy = response.clone();
      event.waitUntil(copy.blob().then((body) => asked === forgets && caches.open(CACHE).then(
        (cache) => cache.put(event.request, new Response(body, copy)))));
    }
    return response;
  }).catch(() => caches.match(event.request).then((hit) => hit || Response.error())));
});
