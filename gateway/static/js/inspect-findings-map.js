// Findings on a map (Leaflet, vendored): one circle per finding with a position, red while open,
// grey once closed; reloaded when the filter form changes. No tile server configured: no tiles.
(function () {
  "use strict";
  function init() {
    var node = document.getElementById("findings-map");
    if (!node || typeof L === "undefined") return;
    var form = document.getElementById("findings-filters");
    var status = document.getElementById("findings-map-status");
    var tileUrl = node.getAttribute("data-tile-url");
    var map = L.map(node, { preferCanvas: true, attributionControl: !!tileUrl });
    if (tileUrl) L.tileLayer(tileUrl, { attribution: node.getAttribute("data-tile-attribution") || "", maxZoom: 18 }).addTo(map);
    L.control.scale({ imperial: false }).addTo(map);
    map.setView([28.68, 115.89], 11);
    var layer = L.layerGroup().addTo(map);
    function load() {
      var params = new URLSearchParams(new FormData(form));
      status.textContent = "正在加载问题点位…";
      fetch(node.getAttribute("data-points-url") + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (body) {
          layer.clearLayers();
          var bounds = [];
          body.items.forEach(function (p) {
            var open = p[6] !== "closed";
            var marker = L.circleMarker([p[1], p[2]], { radius: 7, color: open ? "#c0392b" : "#6b7280", weight: 2, fillOpacity: 0.6 });
            var box = document.createElement("div");
            var title = document.createElement("strong"); title.textContent = p[4]; box.appendChild(title);
            var target = document.createElement("div"); target.textContent = p[5] || ""; box.appendChild(target);
            marker.bindPopup(box);
            marker.addTo(layer);
            bounds.push([p[1], p[2]]);
          });
          if (bounds.length) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
          status.textContent = "地图上共 " + body.items.length + " 个有位置的问题（最新的 2,000 个以内）";
        })
        .catch(function () { status.textContent = "问题点位暂不可用，请稍后刷新"; });
    }
    form.addEventListener("change", function () {
      history.replaceState(null, "", "?" + new URLSearchParams(new FormData(form)).toString());
      load();
    });
    load();
  }
  document.addEventListener("DOMContentLoaded", init);
})();
