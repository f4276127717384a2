// Project form: when a grant number is typed, fill the empty fields from CORDIS
// (the form's data-cordis-grant-url answers JSON), and the lists the person has not
// touched (a status list starts at "proposal": a running grant must not stay one).
// What is typed or chosen is never replaced.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    const form = document.querySelector("form[data-cordis-grant-url]");
    const number = form && form.querySelector("#grant_number");
    if (!number) return;
    const note = document.createElement("small");
    note.setAttribute("role", "status");
    number.insertAdjacentElement("afterend", note);
    const touched = function (event) { event.target.dataset.touched = "yes"; };
    form.addEventListener("input", touched);
    form.addEventListener("change", touched);
    number.addEventListener("change", function () {
      const value = number.value.trim();
      note.textContent = "";
      if (!value) return;
      const url = form.dataset.cordisGrantUrl + "?number=" + encodeURIComponent(value);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (!data.found) {
            note.textContent = form.dataset.notFound;
            return;
          }
          let filled = 0;
          Object.entries(data.fields).forEach(function ([name, value]) {
            const field = form.elements.namedItem(name);
            if (!field || name === "grant_number" || value === "" || value === null) return;
            if (field.dataset.touched) return;
            if (field.tagName !== "SELECT" && field.value && field.value.trim() !== "") return;
            field.value = value;
            filled += 1;
          });
          note.textContent = form.dataset.filled.replace("{n}", filled);
        })
        .catch(function () { note.textContent = ""; });
    });
  });
})();
