/* Service worker of the ambassadeurs' page: network first (fresh knowledge when the network is
   there), the cached copy otherwise. Only the page, its files and the screening pack are cached:
   nothing about a person goes through here (the answers stay in the page's sessionStorage). */
"use strict";
var CACHE = "aiguillage-outreach-v1";
var SHELL = ["/ambassadeur/static/outreach.js", "/ambassadeur/static/outreach.css",
             "/ambassadeur/static/icon.svg", "/ambassadeur/manifest.webmanifest"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("aiguillage-outreach-") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.indexOf("/ambassadeur") !== 0) return;
  if (url.pathname === "/ambassadeur/qr.svg") return;  // the person's answers: never cached
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && url.pathname !== "/ambassadeur/sw.js") {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request).then(function (cached) {
      return cached || new Response("Hors ligne et pas encore enregistré sur ce téléphone.",
        { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    });
  }));
});
