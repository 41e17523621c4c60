// County outlines for maps without a tile service: the convex hull of each county's facilities
// (GET /registry/map/outlines), drawn as faint polygons with the county's name, so a map without
// tiles still shows where things are. window.SortlineOutlines.draw(map, url) -> Promise of bounds.
(function () {
  "use strict";
  function draw(map, url) {
    if (!url || typeof L === "undefined") return Promise.resolve(null);
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (resp) { return resp.ok && !resp.redirected ? resp.json() : { items: [] }; })
      .then(function (body) {
        var group = L.featureGroup();
        (body.items || []).forEach(function (c) {
          if (!c.ring || !c.ring.length) return;
          var shape = c.ring.length >= 3
            ? L.polygon(c.ring, { color: "#1f7a4d", weight: 1.5, fillColor: "#1f7a4d", fillOpacity: 0.06, interactive: false })
            : L.circle(c.ring[0], { radius: 800, color: "#1f7a4d", weight: 1.5, fillOpacity: 0.06, interactive: false });
          shape.bindTooltip(c.name, { permanent: true, direction: "center", className: "county-label" });
          shape.addTo(group);
        });
        group.addTo(map);
        group.bringToBack();
        return group.getLayers().length ? group.getBounds() : null;
      })
      .catch(function () { return null; });
  }
  window.SortlineOutlines = { draw: draw };
})();
