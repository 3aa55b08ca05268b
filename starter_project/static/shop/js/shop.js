// Under Load Shop: small comforts for the pages.
document.addEventListener("DOMContentLoaded", function () {
  // Highlight the table row under the pointer.
  document.querySelectorAll("table.grid tbody tr").forEach(function (row) {
    row.addEventListener("mouseenter", function () { row.classList.add("highlight"); });
    row.addEventListener("mouseleave", function () { row.classList.remove("highlight"); });
  });

  // Ask before ordering again, and stop double submissions while the order is placed.
  document.querySelectorAll("form.reorder").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm("Place this order again?")) {
        event.preventDefault();
        return;
      }
      form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
    });
  });
});
