// Under Load Shop: small comforts for the pages. No framework: plain DOM calls.
(function () {
  "use strict";

  // Highlight the table row under the pointer.
  function highlightRows(root) {
    root.querySelectorAll("table.grid tbody tr").forEach(function (row) {
      row.addEventListener("mouseenter", function () { row.classList.add("highlight"); });
      row.addEventListener("mouseleave", function () { row.classList.remove("highlight"); });
    });
  }

  // Sort a table by the column whose header is clicked (numbers as numbers, text as text).
  function sortableTables(root) {
    root.querySelectorAll("table.grid").forEach(function (table) {
      var body = table.tBodies[0];
      if (!body || body.rows.length < 2) {
        return;
      }
      Array.prototype.forEach.call(table.tHead ? table.tHead.rows[0].cells : [], function (cell, index) {
        cell.classList.add("sortable");
        cell.setAttribute("role", "button");
        cell.tabIndex = 0;
        function sort() {
          var ascending = cell.getAttribute("aria-sort") !== "ascending";
          var numeric = cell.classList.contains("num");
          var rows = Array.prototype.slice.call(body.rows);
          rows.sort(function (a, b) {
            var left = cellValue(a.cells[index], numeric);
            var right = cellValue(b.cells[index], numeric);
            if (left < right) { return ascending ? -1 : 1; }
            if (left > right) { return ascending ? 1 : -1; }
            return 0;
          });
          rows.forEach(function (row) { body.appendChild(row); });
          Array.prototype.forEach.call(cell.parentNode.cells, function (other) {
            other.removeAttribute("aria-sort");
          });
          cell.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        }
        cell.addEventListener("click", sort);
        cell.addEventListener("keydown", function (event) {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            sort();
          }
        });
      });
    });
  }

  function cellValue(cell, numeric) {
    var text = cell ? cell.textContent.trim() : "";
    if (!numeric) {
      return text.toLowerCase();
    }
    var number = parseFloat(text.replace(/[^0-9.\-]/g, ""));
    return isNaN(number) ? -Infinity : number;
  }

  // Show "3 days ago" next to dates marked <time class="relative" datetime="…">.
  function relativeTimes(root) {
    var units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
                 ["hour", 3600], ["minute", 60]];
    var format = window.Intl && Intl.RelativeTimeFormat
      ? new Intl.RelativeTimeFormat(document.documentElement.lang || "en", { numeric: "auto" })
      : null;
    root.querySelectorAll("time.relative[datetime]").forEach(function (element) {
      var seconds = (Date.parse(element.getAttribute("datetime")) - Date.now()) / 1000;
      if (!format || isNaN(seconds)) {
        return;
      }
      for (var i = 0; i < units.length; i += 1) {
        if (Math.abs(seconds) >= units[i][1] || i === units.length - 1) {
          element.title = element.textContent;
          element.textContent = format.format(Math.round(seconds / units[i][1]), units[i][0]);
          return;
        }
      }
    });
  }

  // Ask before ordering again, and send the order once however often a button is clicked.
  // (The buttons sit outside the form and name it in their form attribute; a disabled
  // button would not send its order_id, so a flag stops the second submission.)
  function orderAgainOnce(root) {
    root.querySelectorAll("form.reorder").forEach(function (form) {
      var sent = false;
      form.addEventListener("submit", function (event) {
        if (sent || !window.confirm("Place this order again?")) {
          event.preventDefault();
          return;
        }
        sent = true;
      });
    });
  }

  // Let flash messages be closed, and fade the successful ones after a while.
  function dismissibleMessages(root) {
    root.querySelectorAll(".messages .message").forEach(function (message) {
      var close = document.createElement("button");
      close.type = "button";
      close.className = "close";
      close.setAttribute("aria-label", "Dismiss this message");
      close.textContent = "\u00d7";
      close.addEventListener("click", function () { message.remove(); });
      message.appendChild(close);
      if (message.classList.contains("success")) {
        window.setTimeout(function () { message.classList.add("fading"); }, 6000);
      }
    });
  }

  // Filter the category list in the sidebar as the visitor types.
  function categoryFilter(root) {
    var list = root.querySelector(".sidebar .categories");
    if (!list || list.children.length < 8) {
      return;
    }
    var input = document.createElement("input");
    input.type = "search";
    input.className = "category-filter";
    input.placeholder = "Filter categories";
    input.setAttribute("aria-label", "Filter categories");
    list.parentNode.insertBefore(input, list);
    input.addEventListener("input", function () {
      var wanted = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(list.children, function (item) {
        item.hidden = wanted !== "" && item.textContent.toLowerCase().indexOf(wanted) === -1;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    highlightRows(document);
    sortableTables(document);
    relativeTimes(document);
    orderAgainOnce(document);
    dismissibleMessages(document);
    categoryFilter(document);
  });
})();
