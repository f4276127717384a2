// Charts of the figures pages: data comes from <script type="application/json"> blocks
// (no inline script, CSP). Suppressed cells arrive as null and are not drawn.
(function () {
  "use strict";

  function percent(unit) {
    return unit === "ratio" ? function (v) { return v + "%"; } : undefined;
  }

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") return;
    const spec = JSON.parse(source.textContent);
    if (!spec.labels || spec.labels.length === 0) return;
    new Chart(canvas, {
      type: spec.type,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: spec.datasets.length > 1 } },
        scales: {
          x: { stacked: spec.stacked },
          y: { stacked: spec.stacked, beginAtZero: true, ticks: { callback: percent(spec.unit) } },
        },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();
