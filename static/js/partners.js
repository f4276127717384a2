// Participant picker: records a new external partner without leaving the page
// (no inline script: CSP). Without JavaScript the partner form posts normally
// and the server sends the user back to the picker with the partner chosen.
(function () {
  "use strict";
  function showErrors(form, errors) {
    form.querySelectorAll(".field-error[data-from-script]").forEach(function (el) { el.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    Object.keys(errors).forEach(function (name) {
      const input = form.querySelector('[name="' + name + '"]');
      const note = document.createElement("small");
      note.className = "field-error";
      note.dataset.fromScript = "1";
      note.textContent = errors[name].join(" ");
      if (input) {
        input.setAttribute("aria-invalid", "true");
        input.insertAdjacentElement("afterend", note);
      } else {
        form.prepend(note);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("partner-form");
    const select = document.getElementById("organisation_id");
    const message = document.getElementById("partner-message");
    if (!form || !select || !window.fetch) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(form.action, {
        method: "POST",
        body: new FormData(form), // carries the form's CSRF token
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        })
        .then(function (result) {
          if (!result.ok) {
            showErrors(form, result.data.errors || {});
            return;
          }
          showErrors(form, {});
          const id = String(result.data.id);
          let option = Array.from(select.options).find(function (o) { return o.value === id; });
          if (!option) {
            option = new Option(result.data.label, id);
            select.add(option);
          }
          select.value = id;
          message.textContent = result.data.message;
          form.reset();
          document.getElementById("new-partner").open = false;
          select.focus();
        })
        .catch(function () {
          form.submit(); // the page's own fallback
        });
    });
  });
})();
