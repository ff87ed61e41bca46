/* The drivers' app service worker: caches the shell (page, scripts, styles, icons) only.
   Never caches /v1 answers: they hold personal data (numbers, masked phones, cards). */
"use strict";

const CACHE = "safenum-shell-v3";
const SHELL = [
  "/app/",
  "/app/manifest.webmanifest",
  "/web/base.css",
  "/web/app.css",
  "/web/common.js",
  "/web/app-calls.js",
  "/web/app-texts.js",
  "/web/app.js",
  "/web/icons/icon.svg",
  "/web/icons/icon-192.png",
  "/web/icons/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  const shell = url.pathname === "/app/" || SHELL.includes(url.pathname);
  if (!shell) return; // /v1, /p/, everything else: straight to the network, never stored
  // Network first so a new release shows at once; the cached shell starts the app offline.
  event.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          caches.open(CACHE).then((c) => c.put(url.pathname, copy));
        }
        return res;
      })
      .catch(() => caches.match(url.pathname)),
  );
});
