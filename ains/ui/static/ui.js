/* The AINS console's own script: live updates from the event stream, charts, messages.
   Loaded from /ui/static (the Content-Security-Policy allows no inline script). */
(function () {
  "use strict";
  var charts = {};
  var palette = ["#1f5fa8", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#334155"];

  function say(message, isError) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = message;
    box.className = isError ? "flash error" : "flash";
  }

  function series(el) {
    try { return JSON.parse(el.dataset.series || "null"); } catch (e) { return null; }
  }

  function drawBar(el) {
    var data = series(el) || {};
    var labels = Object.keys(data).sort(function (a, b) { return Number(b) - Number(a); });
    charts[el.id] = new Chart(el, {
      type: "bar",
      data: { labels: labels.map(function (p) { return "P" + p; }),
              datasets: [{ label: "pending", data: labels.map(function (p) { return data[p]; }), backgroundColor: palette[0] }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
                 plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  // pending tasks of each priority over time: one line per priority that has had any
  function drawTimeline(el) {
    charts[el.id] = new Chart(el, {
      type: "line",
      data: { labels: [], datasets: [] },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
                 scales: { y: { beginAtZero: true, stacked: true, ticks: { precision: 0 } } } }
    });
    addPoint(charts[el.id], series(el) || {});
  }

  function addPoint(chart, byPriority) {
    var labels = chart.data.labels, sets = chart.data.datasets;
    labels.push(new Date().toLocaleTimeString());
    Object.keys(byPriority).forEach(function (p) {
      var label = "P" + p;
      if (!byPriority[p] || sets.some(function (d) { return d.label === label; })) return;
      var color = palette[(10 - Number(p)) % palette.length];
      sets.push({ label: label, data: labels.slice(1).map(function () { return 0; }), borderColor: color,
                  backgroundColor: color, fill: true, pointRadius: 0, tension: 0.2 });
    });
    sets.sort(function (a, b) { return Number(b.label.slice(1)) - Number(a.label.slice(1)); });
    sets.forEach(function (d) { d.data.push(byPriority[d.label.slice(1)] || 0); });
    if (labels.length > 120) {
      labels.shift();
      sets.forEach(function (d) { d.data.shift(); });
    }
    chart.update();
  }

  function drawTrend(el) {
    var s = series(el) || { labels: [], completed: [], failed: [] };
    charts[el.id] = new Chart(el, {
      type: "line",
      data: { labels: s.labels, datasets: [
        { label: "completed", data: s.completed, borderColor: palette[2], backgroundColor: palette[2] },
        { label: "failed", data: s.failed, borderColor: palette[4], backgroundColor: palette[4] }] },
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } }
    });
  }

  function drawSparkline(el) {
    var s = series(el) || [];
    new Chart(el, {
      type: "line",
      data: { labels: s.map(function (_v, i) { return i; }), datasets: [{ data: s, borderColor: palette[0], borderWidth: 1.5, pointRadius: 0 }] },
      options: { animation: false, responsive: false, events: [],
                 plugins: { legend: { display: false }, tooltip: { enabled: false } },
                 scales: { x: { display: false }, y: { display: false, suggestedMin: 0, suggestedMax: 1 } } }
    });
  }

  var drawers = { "bar": drawBar, "depth-timeline": drawTimeline, "trend": drawTrend, "sparkline": drawSparkline };

  function drawCharts(root) {
    if (typeof Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      el.dataset.drawn = "1";
      var draw = drawers[el.dataset.chart];
      if (draw) draw(el);
    });
  }

  function onStats(data) {
    var byPriority = data.pending_by_priority || {};
    var bar = charts["depth-by-priority"];
    if (bar) {
      bar.data.datasets[0].data = bar.data.labels.map(function (label) { return byPriority[label.slice(1)] || 0; });
      bar.update();
    }
    var line = charts["depth-over-time"];
    if (line) addPoint(line, byPriority);
  }

  function listen() {
    var url = document.body.dataset.live;
    if (!url || typeof EventSource === "undefined") return;
    var source = new EventSource(url);
    source.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      // the stream's first message comes once it is attached: nothing committed after is missed
      document.body.dataset.liveState = "open";
      if (event.type === "queue.stats") {
        onStats(event.data || {});
        return;
      }
      document.body.dispatchEvent(new CustomEvent("ains:event", { detail: event }));
    };
    source.onerror = function () { document.body.dataset.liveState = "reconnecting"; };
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    listen();
    document.body.addEventListener("htmx:afterSettle", function (e) { drawCharts(e.target); });
    document.body.addEventListener("ains:flash", function (e) { say(e.detail.value, false); });
    document.body.addEventListener("htmx:responseError", function (e) {
      var xhr = e.detail.xhr, text = "the request failed (" + xhr.status + ")";
      try { text = JSON.parse(xhr.responseText).detail || text; } catch (err) { /* not problem+json */ }
      say(text, true);
    });
  });
})();
