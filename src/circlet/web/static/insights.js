/* circlet Insights: draw the duration charts with the vendored uPlot, in the page's theme colours. */
(function () {
  "use strict";
  var holder = document.getElementById("chart-data");
  if (!holder || typeof uPlot === "undefined") return;
  var data = JSON.parse(holder.textContent);
  var css = getComputedStyle(document.documentElement);
  function v(name) { return css.getPropertyValue(name).trim(); }
  var PALETTE = ["#3b82f6", "#10b981", "#f59e0b", "#8b5cf6", "#ef4444", "#14b8a6", "#ec4899", "#84cc16", "#6366f1", "#f97316"];

  function seconds(s) {
    if (s == null) return "—";
    s = Math.round(s);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
  }

  var INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];
  function tick(s) {
    if (s < 60) return s + "s";
    if (s < 3600) return Math.round(s / 60) + "m";
    var h = Math.floor(s / 3600), m = Math.round((s % 3600) / 60);
    return m ? h + "h " + m + "m" : h + "h";
  }

  function axes() {
    var grid = { stroke: v("--border"), width: 1 };
    return [
      { stroke: v("--muted"), grid: grid, ticks: { stroke: v("--border") } },
      { stroke: v("--muted"), grid: grid, ticks: { stroke: v("--border") }, size: 56, incrs: INCRS, values: function (u, ticks) { return ticks.map(tick); } },
    ];
  }

  function draw(el, series, columns) {
    var width = Math.max(260, el.clientWidth - 8);
    var opts = { width: width, height: 240, series: [{}].concat(series), axes: axes(), legend: { live: false }, cursor: { drag: { x: true, y: false } } };
    var plot = new uPlot(opts, columns, el);
    el.dataset.drawn = "yes";
    new ResizeObserver(function () { plot.setSize({ width: Math.max(260, el.clientWidth - 8), height: 240 }); }).observe(el);
  }

  var d = data.durations;
  var durationsEl = document.getElementById("chart-durations");
  if (durationsEl && d.x.length) {
    draw(durationsEl, [
      { label: "Succeeded", stroke: v("--ok"), width: 0, points: { show: true, size: 6, fill: v("--ok") }, value: function (u, x) { return seconds(x); } },
      { label: "Failed", stroke: v("--bad"), width: 0, points: { show: true, size: 6, fill: v("--bad") }, value: function (u, x) { return seconds(x); } },
    ], [d.x, d.success, d.failed]);
  } else if (durationsEl) {
    durationsEl.innerHTML = '<div class="empty">No runs in this window.</div>';
  }

  var j = data.jobs;
  var jobsEl = document.getElementById("chart-jobs");
  if (jobsEl && j.x.length) {
    draw(jobsEl, j.series.map(function (s, i) {
      return { label: s.name, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true, points: { show: j.x.length < 40 }, value: function (u, x) { return seconds(x); } };
    }), [j.x].concat(j.series.map(function (s) { return s.values; })));
  } else if (jobsEl) {
    jobsEl.innerHTML = '<div class="empty">No job runs in this window.</div>';
  }
})();
