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

  // Filter forms never submit on change: with the keyboard, one arrow key on a
  // select would reload the page before a value could be chosen (WCAG 3.2.2).
  // Every filter form has its own submit button.

  // The navigation collapses behind a menu button on narrow screens (app.css);
  // without this script the button stays hidden and the menu open.
  function navigationMenu() {
    const header = document.querySelector(".site-header");
    const button = header && header.querySelector(".nav-toggle");
    const menu = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!menu) return;
    const open = function (yes) {
      header.classList.toggle("open", yes);
      button.setAttribute("aria-expanded", yes ? "true" : "false");
    };
    header.classList.add("collapsible");
    button.hidden = false;
    button.addEventListener("click", function () { open(!header.classList.contains("open")); });
    header.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && header.classList.contains("open")) {
        open(false);
        button.focus();
      }
    });
  }

  // The closest heading before an element: what its region is named after.
  function headingBefore(element) {
    for (let node = element; node && node.tagName !== "MAIN"; node = node.parentElement) {
      for (let sibling = node.previousElementSibling; sibling; sibling = sibling.previousElementSibling) {
        if (/^H[1-6]$/.test(sibling.tagName)) return sibling;
        const inner = sibling.querySelectorAll("h1, h2, h3, h4, h5, h6");
        if (inner.length) return inner[inner.length - 1];
      }
    }
    return null;
  }

  // Each table scrolls inside its own box rather than widening the page; the box
  // takes the keyboard focus (to scroll with the arrows) only when it overflows.
  function scrollingTables() {
    const boxes = [];
    document.querySelectorAll("main table").forEach(function (table) {
      let box = table.parentElement;
      if (!box.classList.contains("table-scroll") && !box.classList.contains("metric-table")) {
        box = document.createElement("div");
        box.className = "table-scroll";
        table.parentNode.insertBefore(box, table);
        box.appendChild(table);
      }
      boxes.push({ box: box, table: table });
    });
    const fit = function () {
      boxes.forEach(function (item) {
        const overflows = item.box.scrollWidth > item.box.clientWidth + 1;
        if (overflows && !item.box.hasAttribute("tabindex")) {
          item.box.setAttribute("tabindex", "0");
          item.box.setAttribute("role", "group");  // not a landmark: pages hold many
          const name = item.table.caption || headingBefore(item.box);
          if (name) item.box.setAttribute("aria-label", name.textContent.trim());
        } else if (!overflows && item.box.getAttribute("tabindex") === "0") {
          item.box.removeAttribute("tabindex");
          item.box.removeAttribute("role");
          item.box.removeAttribute("aria-label");
        }
      });
    };
    fit();
    window.addEventListener("resize", fit);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".job-progress").forEach(pollProgress);
    confirmForms();
    navigationMenu();
    scrollingTables();
  });
})();
