// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.replace("no-js", "js");

  // A second click on a form's button while its page is on the way would post the form twice
  // (two configurations, two revisions): a form ignores submits for a few seconds after one.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") { return; }
    if (form.dataset.sending) { event.preventDefault(); return; }
    form.dataset.sending = "1";
    // released in case the answer does not replace the page (a download, a stopped load)
    setTimeout(function () { delete form.dataset.sending; }, 5000);
  });
  window.addEventListener("pageshow", function () {    // back to a page the browser kept
    document.querySelectorAll("form[data-sending]").forEach(function (form) {
      delete form.dataset.sending;
    });
  });

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
