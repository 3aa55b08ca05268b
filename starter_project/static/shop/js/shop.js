// Under Load Shop: highlight the table row under the pointer.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table.grid tbody tr").forEach(function (row) {
    row.addEventListener("mouseenter", function () { row.style.background = "#eef4fb"; });
    row.addEventListener("mouseleave", function () { row.style.background = ""; });
  });
});
