// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.replace("no-js", "js");

  document.addEventListener("DOMContentLoaded", function () {
    // Move focus to an error summary so keyboard and screen-reader users hear it first.
    var summary = document.querySelector("[data-focus]");
    if (summary) { summary.focus(); }

    // Lists of objects (e.g. the decision chain): add and remove rows.
    document.querySelectorAll("[data-rows]").forEach(function (group) {
      var list = group.querySelector(".row-list");
      var template = group.querySelector("template");
      var add = group.querySelector(".add-row");
      var next = list.children.length;
      function wire(row) {
        var remove = row.querySelector(".remove-row");
        if (remove) {
          remove.addEventListener("click", function () {
            row.remove();
            if (add) { add.focus(); }
          });
        }
      }
      Array.prototype.forEach.call(list.children, wire);
      if (add && template) {
        add.addEventListener("click", function () {
          var html = template.innerHTML.split("__index__").join(String(next));
          var label = group.querySelector("legend").textContent.replace("(required)", "").trim();
          next += 1;
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var row = holder.firstElementChild;
          var legend = row.querySelector("legend");
          if (legend) { legend.textContent = label + " " + next; }
          list.appendChild(row);
          wire(row);
          var first = row.querySelector("input, select, textarea");
          if (first) { first.focus(); }
        });
      }
    });
  });
})();
