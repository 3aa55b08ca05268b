// Under Load Shop, trending page: the "units sold per day" table drawn as a bar chart.
//
// The table stays in the page (screen readers and visitors without scripts read it); this
// script adds an SVG chart above it, with a label on each bar and the day's share of the
// week in a tooltip, and lets a visitor switch between the chart and the table.
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var WIDTH = 640;
  var HEIGHT = 220;
  var MARGIN = { top: 24, right: 12, bottom: 36, left: 44 };
  var BAR_GAP = 0.25; // the share of each slot left empty between two bars
  var TICKS = 4; // horizontal guide lines, not counting the baseline

  // One element of the SVG namespace, with its attributes.
  function svgElement(name, attributes) {
    var element = document.createElementNS(SVG, name);
    Object.keys(attributes || {}).forEach(function (key) {
      element.setAttribute(key, attributes[key]);
    });
    return element;
  }

  // The rows of the table as {label, iso, units}, in the order the page gives them.
  function readDays(table) {
    var days = [];
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var time = row.querySelector("time");
      var units = parseInt(row.querySelector(".units").textContent, 10);
      days.push({
        label: time ? time.textContent.trim() : row.cells[0].textContent.trim(),
        iso: time ? time.getAttribute("datetime") : "",
        units: isNaN(units) ? 0 : units
      });
    });
    return days;
  }

  // A round number at or above `value`, so the axis reads 0, 25, 50 … rather than 0, 23, 46 …
  function niceCeiling(value) {
    if (value <= 0) {
      return 1;
    }
    var magnitude = Math.pow(10, Math.floor(Math.log(value) / Math.LN10));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i += 1) {
      if (steps[i] * magnitude >= value) {
        return steps[i] * magnitude;
      }
    }
    return 10 * magnitude;
  }

  function formatShare(units, total) {
    if (!total) {
      return "0%";
    }
    return (Math.round((1000 * units) / total) / 10).toFixed(1) + "%";
  }

  // Guide lines and their labels on the left.
  function drawAxis(svg, top, plotHeight, plotWidth) {
    var axis = svgElement("g", { "class": "axis", "font-size": "11", fill: "#59636e" });
    for (var i = 0; i <= TICKS; i += 1) {
      var value = (top * i) / TICKS;
      var y = MARGIN.top + plotHeight - (plotHeight * i) / TICKS;
      axis.appendChild(svgElement("line", {
        x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: y, y2: y,
        stroke: i === 0 ? "#59636e" : "#d1d9e0", "stroke-width": 1
      }));
      var label = svgElement("text", { x: MARGIN.left - 6, y: y + 4, "text-anchor": "end" });
      label.textContent = String(Math.round(value));
      axis.appendChild(label);
    }
    svg.appendChild(axis);
  }

  // One bar per day, its units above it and the day below.
  function drawBars(svg, days, top, plotHeight, plotWidth) {
    var total = days.reduce(function (sum, day) { return sum + day.units; }, 0);
    var slot = plotWidth / Math.max(days.length, 1);
    var barWidth = slot * (1 - BAR_GAP);
    var bars = svgElement("g", { "class": "bars", "font-size": "11" });
    days.forEach(function (day, index) {
      var height = top ? (plotHeight * day.units) / top : 0;
      var x = MARGIN.left + index * slot + (slot - barWidth) / 2;
      var y = MARGIN.top + plotHeight - height;
      var bar = svgElement("rect", {
        x: x, y: y, width: barWidth, height: height, rx: 2, fill: "#0b6bcb",
        "data-day": day.iso
      });
      var tooltip = svgElement("title");
      tooltip.textContent = day.label + ": " + day.units + " units, " +
        formatShare(day.units, total) + " of the week";
      bar.appendChild(tooltip);
      bars.appendChild(bar);
      var value = svgElement("text", {
        x: x + barWidth / 2, y: Math.max(y - 4, MARGIN.top - 6), "text-anchor": "middle",
        fill: "#1f2328"
      });
      value.textContent = String(day.units);
      bars.appendChild(value);
      var name = svgElement("text", {
        x: x + barWidth / 2, y: MARGIN.top + plotHeight + 16, "text-anchor": "middle",
        fill: "#59636e"
      });
      name.textContent = day.label;
      bars.appendChild(name);
    });
    svg.appendChild(bars);
  }

  function chartFor(days) {
    var plotWidth = WIDTH - MARGIN.left - MARGIN.right;
    var plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    var most = days.reduce(function (max, day) { return Math.max(max, day.units); }, 0);
    var top = niceCeiling(most);
    var svg = svgElement("svg", {
      viewBox: "0 0 " + WIDTH + " " + HEIGHT, width: "100%", role: "img",
      "aria-label": "Units sold per day, as a bar chart of the table below"
    });
    drawAxis(svg, top, plotHeight, plotWidth);
    drawBars(svg, days, top, plotHeight, plotWidth);
    return svg;
  }

  // A button that shows the table instead of the chart, and back.
  function toggleFor(figure, table) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "chart-toggle";
    button.textContent = "Show as a table";
    table.hidden = true;
    button.addEventListener("click", function () {
      var showTable = table.hidden;
      table.hidden = !showTable;
      figure.hidden = showTable;
      button.textContent = showTable ? "Show as a chart" : "Show as a table";
    });
    return button;
  }

  function enhance() {
    var table = document.getElementById("units-per-day");
    if (!table || !table.tBodies.length) {
      return;
    }
    var days = readDays(table);
    if (!days.length) {
      return;
    }
    var figure = document.createElement("figure");
    figure.className = "units-chart";
    figure.appendChild(chartFor(days));
    table.parentNode.insertBefore(figure, table);
    table.parentNode.insertBefore(toggleFor(figure, table), table);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhance);
  } else {
    enhance();
  }
})();
