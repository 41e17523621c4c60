// Home dashboard: draws the coverage bar chart from the JSON in #coverage-chart[data-chart].
// No inline scripts, so a strict CSP can apply.
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("coverage-chart");
    if (!el || !window.echarts) return;
    var data;
    try { data = JSON.parse(el.getAttribute("data-chart") || "{}"); } catch (e) { return; }
    if (!data.labels || !data.labels.length) { el.hidden = true; return; }
    var target = data.target;
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    var series = {
      type: "bar",
      barMaxWidth: 36,
      data: data.values.map(function (v) {
        var low = target != null && v != null && v < target;
        return { value: v, itemStyle: { color: low ? "#b7791f" : "#1f7a4d" } };
      }),
      label: { show: true, position: "top", fontSize: 11, formatter: function (p) { return p.value == null ? "—" : p.value + "%"; } }
    };
    if (target != null) {
      series.markLine = {
        symbol: "none", silent: true,
        lineStyle: { color: "#c0392b", type: "dashed" },
        label: { formatter: "目标 " + target + "%", position: "insideEndTop", color: "#c0392b" },
        data: [{ yAxis: target }]
      };
    }
    var low = Math.min.apply(null, data.values.filter(function (v) { return v != null; }).concat([target || 100]));
    chart.setOption({
      animation: false,
      title: { text: data.title, left: 0, textStyle: { fontSize: 14, fontWeight: 600 } },
      grid: { left: 44, right: 12, top: 44, bottom: 56 },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
      xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 6 ? 35 : 0, fontSize: 11 } },
      yAxis: { type: "value", min: Math.max(0, Math.floor((low - 10) / 10) * 10), max: 100, axisLabel: { formatter: "{value}%" } },
      series: [series]
    });
    var pending;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () { chart.resize(); }, 100);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
