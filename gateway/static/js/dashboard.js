// Home dashboard: the coverage bar chart from the JSON in #coverage-chart[data-chart] (charts.js
// reads it). No inline scripts, so a strict CSP can apply.
(function () {
  "use strict";
  window.sortlineChart("coverage-chart", function (data) {
    var target = data.target;
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
    return {
      animation: false,
      title: { text: data.title, left: 0, textStyle: { fontSize: 14, fontWeight: 600 } },
      grid: { left: 44, right: 12, top: 44, bottom: 56 },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
      xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 6 ? 35 : 0, fontSize: 11 } },
      yAxis: { type: "value", min: Math.max(0, Math.floor((low - 10) / 10) * 10), max: 100, axisLabel: { formatter: "{value}%" } },
      series: [series]
    };
  });
})();
