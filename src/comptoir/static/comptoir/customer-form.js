// The customer create and edit form: the consent confirmation box shows only while a consent
// is being given, and "Add an address" clones the formset's empty form. Without JavaScript the
// server still asks for the confirmation when it is missing.
(function () {
  "use strict";

  function watchConsent(block) {
    var wasGiven = block.dataset.wasGiven === "true";
    var confirm = block.querySelector("[data-consent-confirm]");
    var box = confirm.querySelector("input[type=checkbox]");
    function update() {
      var given = block.querySelector("input[type=radio][value=given]");
      var show = Boolean(given && given.checked && !wasGiven);
      confirm.hidden = !show;
      if (!show) box.checked = false;
    }
    block.addEventListener("change", update);
    update();
  }

  function enableAddressAdd() {
    var button = document.getElementById("address-add");
    var template = document.getElementById("address-template");
    var total = document.getElementById("id_addresses-TOTAL_FORMS");
    var list = document.getElementById("address-forms");
    if (!button || !template || !total || !list) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var index = Number(total.value);
      var empty = document.getElementById("no-addresses");
      if (empty) empty.remove();
      list.insertAdjacentHTML("beforeend", template.innerHTML.replaceAll("__prefix__", index));
      total.value = String(index + 1);
      var added = list.lastElementChild;
      var first = added.querySelector("input:not([type=hidden]), select");
      if (first) first.focus();
    });
  }

  function dimRemovedAddresses() {
    document.addEventListener("change", function (event) {
      if (!event.target.classList.contains("address-remove")) return;
      var card = event.target.closest(".address-form");
      if (card) card.classList.toggle("opacity-50", event.target.checked);
    });
    document.querySelectorAll(".address-remove:checked").forEach(function (box) {
      box.closest(".address-form").classList.add("opacity-50");
    });
  }

  document.querySelectorAll("[data-consent]").forEach(watchConsent);
  enableAddressAdd();
  dimRemovedAddresses();
})();
