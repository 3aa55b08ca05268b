// Under Load Shop: small comforts for the pages.
document.addEventListener("DOMContentLoaded", function () {
  // Highlight the table row under the pointer.
  document.querySelectorAll("table.grid tbody tr").forEach(function (row) {
    row.addEventListener("mouseenter", function () { row.classList.add("highlight"); });
    row.addEventListener("mouseleave", function () { row.classList.remove("highlight"); });
  });

  // Ask before ordering again, and send the order once however often a button is clicked.
  // (The buttons sit outside the form and name it in their form attribute; a disabled
  // button would not send its order_id, so a flag stops the second submission.)
  document.querySelectorAll("form.reorder").forEach(function (form) {
    var sent = false;
    form.addEventListener("submit", function (event) {
      if (sent || !window.confirm("Place this order again?")) {
        event.preventDefault();
        return;
      }
      sent = true;
    });
  });
});
