// What the pages' ECharts share: the JSON in the element's data-chart attribute, the element hidden
// when there is nothing to draw, a redraw after resizing. Load it (defer) before the page's chart
// script, which calls sortlineChart(id, optionOf) with a function from that JSON to the chart's
// option. No inline scripts, so a strict CSP can apply.
(function () {
  "use strict";
  window.sortlineChart = function (id, optionOf) {
    function draw() {
      var el = document.getElementById(id);
      if (!el || !window.echarts) return;
      var data;
      try { data = JSON.parse(el.getAttribute("data-chart") || "{}"); } catch (e) { return; }
      if (!data.labels || !data.labels.length) { el.hidden = true; return; }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(optionOf(data));
      var pending;
      window.addEventListener("resize", function () {
        clearTimeout(pending);
        pending = setTimeout(function () { chart.resize(); }, 100);
      });
    }
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
    else draw();
  };
})();
