// 国检结果: the trend of the national score, the platform's forecast beside it, and the rank,
// from the JSON in #trend-chart[data-chart] (charts.js reads it). No inline scripts, so a strict
// CSP can apply.
(function () {
  "use strict";
  window.sortlineChart("trend-chart", function (data) {
    var values = data.actual.concat(data.forecast).filter(function (v) { return v != null; });
    var low = Math.min.apply(null, values.concat([100]));
    return {
      animation: false,
      grid: { left: 44, right: 44, top: 40, bottom: 36 },
      legend: { data: ["国检得分", "平台预测", "排名"], top: 0 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.labels },
      yAxis: [
        { type: "value", name: "分", min: Math.max(0, Math.floor((low - 5) / 5) * 5), max: 100 },
        { type: "value", name: "名次", inverse: true, minInterval: 1, splitLine: { show: false } }
      ],
      series: [
        { name: "国检得分", type: "line", data: data.actual, symbolSize: 8, lineStyle: { width: 3 }, itemStyle: { color: "#1f7a4d" },
          label: { show: true, position: "top", fontSize: 11 } },
        { name: "平台预测", type: "line", data: data.forecast, symbolSize: 6, connectNulls: true,
          lineStyle: { type: "dashed", width: 2 }, itemStyle: { color: "#5b8fd1" } },
        { name: "排名", type: "bar", yAxisIndex: 1, data: data.rank, barMaxWidth: 18, itemStyle: { color: "rgba(183,121,31,.35)" } }
      ]
    };
  });
})();
