/* Kefu desk: saved views and merging. Forms with data-confirm ask before they post (a merge
   cannot be undone; a deleted view is gone); "{target}" in the question is the chosen case.
   No inline script (the Content-Security-Policy forbids it). */
(function () {
  "use strict";
  // a filter changed while a saved view is open: the queue leaves the view and filters by the
  // bar, which shows the view's filters to start from (before htmx sends the change)
  document.addEventListener("change", (e) => {
    const form = e.target.closest(".queue-tools");
    if (!form || ["name", "shared"].includes(e.target.name)) return;
    const saved = form.querySelector("[data-role=saved-view]");
    if (saved) saved.remove();
    document.querySelectorAll(".saved-view.on").forEach((a) => a.classList.remove("on"));
  }, true);
  document.addEventListener("input", (e) => {
    if (e.target.type !== "search") return;
    const form = e.target.closest(".queue-tools");
    const saved = form && form.querySelector("[data-role=saved-view]");
    if (saved) saved.remove();
  }, true);
  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-confirm]");
    if (!form) return;
    const pick = form.querySelector("[data-confirm-field]");
    const question = form.dataset.confirm.replace("{target}", pick ? pick.value : "");
    if (!window.confirm(question)) e.preventDefault();
  });
})();
