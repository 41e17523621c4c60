// Service worker of the inspector's pages (served as /supervision/inspect-sw.js, scope /supervision/):
// pages and static files network-first, answered from the cache when the tablet is offline, so a
// reload or a tablet waking up without a network still opens the form and its IndexedDB draft.
// The JSON API is never cached (the queue in inspect-queue.js talks to it directly).
"use strict";

var CACHE = "sortline-inspect-v1";
var ASSETS = [
  "/static/css/app.css",
  "/static/css/supervision.css",
  "/static/js/app.js",
  "/static/js/inspect-queue.js",
  "/static/js/inspect.js",
  "/static/vendor/htmx/htmx.min.js",
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(ASSETS); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function cacheable(url) {
  return url.origin === self.location.origin &&
    (url.pathname.indexOf("/supervision/today") === 0 || url.pathname.indexOf("/supervision/inspect/") === 0 ||
     url.pathname === "/supervision/outbox" || url.pathname.indexOf("/static/") === 0);
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (!cacheable(url)) return;
  event.respondWith(
    fetch(request).then(function (response) {
      if (response.ok && !response.redirected && response.type === "basic") {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(request).then(function (hit) {
        if (hit) return hit;
        if (request.mode === "navigate") return caches.match("/supervision/outbox");
        return Response.error();
      });
    })
  );
});
