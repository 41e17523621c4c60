// The record forms' point picker: a click on the map fills 纬度 / 经度 with WGS-84 and sets the
// coordinate system to WGS-84; a point already in the fields (WGS-84) shows as the marker. Without
// a tile service the county outlines (county-outlines.js) give the map its context. The form is
// swapped by htmx after a failed submit, so the picker starts again after every swap.
(function () {
  "use strict";
  var DEFAULT_VIEW = [28.68, 115.89]; // 南昌, until outlines or a point say otherwise

  function field(id) { return document.getElementById(id); }

  function init() {
    var node = field("coord-picker");
    if (!node || node.getAttribute("data-ready") || typeof L === "undefined") return;
    node.setAttribute("data-ready", "1");
    var lat = field("f-lat"), lng = field("f-lng"), system = field("f-coord_system");
    var tileUrl = node.getAttribute("data-tile-url") || "";
    var map = L.map(node, { attributionControl: !!tileUrl });
    if (tileUrl) {
      L.tileLayer(tileUrl, { attribution: node.getAttribute("data-tile-attribution") || "", maxZoom: 18 }).addTo(map);
    }
    L.control.scale({ imperial: false }).addTo(map);
    var marker = null;

    function current() {
      var a = parseFloat(lat && lat.value), b = parseFloat(lng && lng.value);
      if (!isFinite(a) || !isFinite(b) || (system && system.value !== "wgs84")) return null;
      return [a, b];
    }

    function place(point) {
      if (marker) marker.setLatLng(point);
      else marker = L.marker(point, { keyboard: false }).addTo(map);
    }

    var start = current();
    map.setView(start || DEFAULT_VIEW, start ? 16 : 10);
    if (start) place(start);
    if (!tileUrl && window.SortlineOutlines) {
      window.SortlineOutlines.draw(map, node.getAttribute("data-outlines-url")).then(function (bounds) {
        if (bounds && !current()) map.fitBounds(bounds, { padding: [16, 16], maxZoom: 14 });
      });
    }

    map.on("click", function (event) {
      var p = event.latlng.wrap();
      lat.value = p.lat.toFixed(7).replace(/\.?0+$/, "");
      lng.value = p.lng.toFixed(7).replace(/\.?0+$/, "");
      if (system) system.value = "wgs84";
      [lat, lng].forEach(function (input) { input.dispatchEvent(new Event("change", { bubbles: true })); });
      place([p.lat, p.lng]);
    });
    // Typed coordinates move the marker too.
    [lat, lng, system].forEach(function (input) {
      if (!input) return;
      input.addEventListener("change", function () {
        var p = current();
        if (p) { place(p); map.panTo(p); }
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  document.addEventListener("htmx:afterSettle", init);
})();
