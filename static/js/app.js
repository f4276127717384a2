// Small behaviours shared by every page. No inline script anywhere (CSP).
(function () {
  "use strict";

  // Poll a job's status endpoint and move its progress bar; reload when done.
  function pollProgress(box) {
    const url = box.dataset.pollUrl;
    if (!url) return;
    const bar = box.querySelector("progress");
    const text = box.querySelector(".job-message");
    const tick = function () {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (run) {
          bar.value = run.progress;
          const label = JSON.parse(box.dataset.labels || "{}")[run.status] || run.status;
          text.textContent = label + " · " + run.progress + "%" + (run.message ? " · " + run.message : "");
          if (run.status !== "queued" && run.status !== "running") {  // ended, however
            window.location.reload();
          } else {
            setTimeout(tick, 1000);
          }
        })
        .catch(function () { setTimeout(tick, 3000); });
    };
    if (box.dataset.status === "queued" || box.dataset.status === "running") tick();
  }

  // Ask before destructive actions: <form data-confirm="...">.
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  // Auto-submit filter forms on change: <form data-autosubmit>.
  function autoSubmit() {
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (el) {
      el.addEventListener("change", function () { el.form.requestSubmit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".job-progress").forEach(pollProgress);
    confirmForms();
    autoSubmit();
  });
})();
