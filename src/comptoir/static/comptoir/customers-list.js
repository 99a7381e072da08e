/* The customers list's small behaviours. Everything works without them (plain forms and links);
 * they add: selecting a whole page, showing only the fields the chosen bulk action needs, and
 * reordering columns in the column chooser. */
(function () {
  "use strict";

  // Delegated, and every element looked up when used: the counter and "select all" are swapped
  // in again once the list's matches are counted (customer_list_figures).
  function selection() {
    function rows() {
      return Array.prototype.slice.call(document.querySelectorAll(".row-select"));
    }

    function refresh() {
      var counter = document.getElementById("selection-count");
      if (!counter) return;
      var pageBox = document.getElementById("select-page");
      var allBox = document.getElementById("select-all-matching");
      var boxes = rows();
      var ticked = boxes.filter(function (box) { return box.checked; }).length;
      if (pageBox) {
        pageBox.checked = boxes.length > 0 && ticked === boxes.length;
        pageBox.indeterminate = ticked > 0 && ticked < boxes.length;
      }
      if (allBox && allBox.checked) {
        counter.textContent = counter.dataset.all;
      } else if (ticked === 1) {
        counter.textContent = counter.dataset.one;
      } else if (ticked) {
        counter.textContent = counter.dataset.some.replace("__COUNT__", ticked);
      } else {
        counter.textContent = counter.dataset.none;
      }
    }

    document.addEventListener("change", function (event) {
      var box = event.target;
      var allBox = document.getElementById("select-all-matching");
      if (box.classList.contains("row-select")) {
        // Unticking a row means the choice is no longer "everything matching".
        if (!box.checked && allBox) allBox.checked = false;
      } else if (box.id === "select-page") {
        rows().forEach(function (row) { row.checked = box.checked; });
        if (!box.checked && allBox) allBox.checked = false;
      } else if (box.id === "select-all-matching") {
        if (box.checked) rows().forEach(function (row) { row.checked = true; });
      } else {
        return;
      }
      refresh();
    });
    document.body.addEventListener("htmx:afterSettle", refresh);
    refresh();
  }

  function bulkParameters() {
    var action = document.querySelector("#bulk-form select[name=action]");
    if (!action) return;
    var fields = Array.prototype.slice.call(document.querySelectorAll("#bulk-form [data-param-for]"));
    function refresh() {
      fields.forEach(function (field) {
        var wanted = field.dataset.paramFor.split(" ").indexOf(action.value) !== -1;
        field.hidden = !wanted;
        field.querySelectorAll("input, select").forEach(function (input) { input.disabled = !wanted; });
      });
    }
    action.addEventListener("change", refresh);
    refresh();
  }

  function columnChooser() {
    var form = document.getElementById("column-chooser");
    if (!form) return;
    var list = document.getElementById("column-list");
    list.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      var item = button.closest("li");
      if (button.classList.contains("move-up") && item.previousElementSibling) {
        list.insertBefore(item, item.previousElementSibling);
      } else if (button.classList.contains("move-down") && item.nextElementSibling) {
        list.insertBefore(item.nextElementSibling, item);
      }
      button.focus();
    });
    form.addEventListener("submit", function () {
      // One tidy cols=a,b,c parameter instead of a col=... per ticked box.
      var ticked = Array.prototype.slice.call(list.querySelectorAll("input[name=col]:checked"));
      var value = document.getElementById("cols-value");
      value.value = ticked.map(function (box) { return box.value; }).join(",");
      value.disabled = false;
      list.querySelectorAll("input[name=col]").forEach(function (box) { box.disabled = true; });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    selection();
    bulkParameters();
    columnChooser();
  });
})();
