// Facility map: Leaflet (vendored), circle markers on a canvas coloured by waste category, loaded
// from /registry/map/points with the filter form's values. Without a tile URL there is no tile layer
// at all (no request to any tile server): the counties' outlines (county-outlines.js, the convex
// hull of their facilities) are drawn under the points instead.
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function popupContent(point, labels) {
    // [code, lat, lng, category, kind, name]; built as DOM nodes so names are never parsed as HTML.
    var box = el("div", "map-popup");
    box.appendChild(el("strong", "", point[5] || point[0]));
    box.appendChild(el("div", "map-popup-code", point[0]));
    var meta = (labels.kind[point[4]] || point[4]) + " · " + (labels.category[point[3]] || point[3]);
    box.appendChild(el("div", "map-popup-meta", meta));
    var link = el("a", "", "查看详情");
    link.href = "/registry/facilities/" + encodeURIComponent(point[0]);
    box.appendChild(link);
    return box;
  }

  function init() {
    var node = document.getElementById("facility-map");
    if (!node || typeof L === "undefined") return;
    var labels = JSON.parse(node.getAttribute("data-labels") || "{}");
    var tileUrl = node.getAttribute("data-tile-url") || "";
    var statusText = document.getElementById("map-status-text");
    var form = document.getElementById("map-filters");

    var map = L.map(node, { preferCanvas: true, attributionControl: !!tileUrl, worldCopyJump: false });
    if (tileUrl) {
      L.tileLayer(tileUrl, { attribution: node.getAttribute("data-tile-attribution") || "", maxZoom: 18 }).addTo(map);
    }
    L.control.scale({ imperial: false }).addTo(map);
    map.setView([30.5, 114.3], 5); // until the points arrive
    if (!tileUrl && window.SortlineOutlines) {
      window.SortlineOutlines.draw(map, node.getAttribute("data-outlines-url"));
    }
    var renderer = L.canvas({ padding: 0.5 });
    var layer = L.layerGroup().addTo(map);
    var pending = null;

    function params() {
      var data = new URLSearchParams();
      if (form) {
        new FormData(form).forEach(function (value, key) {
          data.append(key, value);
        });
      }
      return data;
    }

    function setStatus(text) {
      if (statusText) statusText.textContent = text;
    }

    function draw(body) {
      layer.clearLayers();
      var bounds = [];
      var n = body.items.length;
      var radius = n > 2000 ? 3 : n > 300 ? 4 : 6; // thousands of points stay readable
      body.items.forEach(function (p) {
        var marker = L.circleMarker([p[1], p[2]], {
          renderer: renderer,
          radius: radius,
          weight: n > 2000 ? 0.5 : 1,
          color: "#ffffff",
          fillColor: labels.color[p[3]] || "#374151",
          fillOpacity: 0.9,
        });
        marker.bindPopup(function () { return popupContent(p, labels); });
        marker.addTo(layer);
        bounds.push([p[1], p[2]]);
      });
      if (bounds.length) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15 });
      var text = "共 " + body.total + " 个设施";
      if (body.truncated) text += "，地图只显示前 " + body.items.length + " 个，请缩小筛选范围";
      if (!body.items.length) text = "没有符合条件的设施";
      setStatus(text);
    }

    function load() {
      var query = params();
      if (pending) pending.abort();
      pending = new AbortController();
      setStatus("正在加载设施…");
      fetch(node.getAttribute("data-points-url") + "?" + query.toString(), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: pending.signal,
      })
        .then(function (resp) {
          if (resp.status === 401 || resp.redirected) { window.location.reload(); return null; }
          if (!resp.ok) throw new Error(String(resp.status));
          return resp.json();
        })
        .then(function (body) { if (body) draw(body); })
        .catch(function (err) {
          if (err && err.name === "AbortError") return;
          setStatus("设施点位加载失败，请稍后再试");
        });
      // The URL keeps the filters: a reload or a shared link shows the same map.
      var url = window.location.pathname + (query.toString() ? "?" + query.toString() : "");
      window.history.replaceState(null, "", url);
    }

    if (form) {
      form.addEventListener("change", load);
      form.addEventListener("submit", function (event) { event.preventDefault(); load(); });
    }
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
