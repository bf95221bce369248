/* Kefu desk: saved views and merging. Forms with data-confirm ask before they post (a merge
   cannot be undone; a deleted view is gone); "{target}" in the question is the chosen case.
   No inline script (the Content-Security-Policy forbids it). */
(function () {
  "use strict";
  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-confirm]");
    if (!form) return;
    const pick = form.querySelector("[data-confirm-field]");
    const question = form.dataset.confirm.replace("{target}", pick ? pick.value : "");
    if (!window.confirm(question)) e.preventDefault();
  });
})();
