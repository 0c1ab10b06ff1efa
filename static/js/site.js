/* Small progressive enhancements; every page works without this file. */
(function () {
  "use strict";

  // A read-only input selects its whole text on focus, ready to copy.
  document.querySelectorAll("input[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });

  // <button data-copy="#input-id" data-copied-label="Copied">Copy</button>
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target) { return; }
    var label = button.textContent;
    button.addEventListener("click", function () {
      var done = function () {
        button.textContent = button.getAttribute("data-copied-label") || label;
        window.setTimeout(function () { button.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(target.value).then(done, function () {
          target.select();
        });
      } else {
        target.focus();
        target.select();
        try { if (document.execCommand("copy")) { done(); } } catch (e) { /* select only */ }
      }
    });
  });

  // Product gallery: a thumbnail shows its picture in the main frame (without JS it opens it).
  document.querySelectorAll("[data-gallery]").forEach(function (gallery) {
    var main = gallery.querySelector("[data-gallery-main]");
    if (!main) { return; }
    var mainImage = main.querySelector("img");
    gallery.querySelectorAll("[data-gallery-thumb]").forEach(function (thumb) {
      thumb.addEventListener("click", function (event) {
        event.preventDefault();
        mainImage.src = thumb.getAttribute("href");
        mainImage.alt = thumb.getAttribute("data-alt") || "";
        main.href = thumb.getAttribute("data-full");
        gallery.querySelectorAll("[data-gallery-thumb]").forEach(function (other) {
          other.removeAttribute("aria-current");
        });
        thumb.setAttribute("aria-current", "true");
      });
    });
  });

  // Variant picker: the chosen chip's data-* set the price, compare-at price,
  // stock status and quantity limit, and its sale note shows (the radio itself is
  // what the form posts).
  document.querySelectorAll("[data-variant-picker]").forEach(function (form) {
    var show = function (name) { return form.querySelector('[data-show="' + name + '"]'); };
    var quantity = form.querySelector('input[name="quantity"]');
    var update = function (chip) {
      var stock = parseInt(chip.getAttribute("data-stock"), 10) || 0;
      var compareAt = chip.getAttribute("data-compare-at");
      show("price").textContent = chip.getAttribute("data-price");
      show("compare-at").textContent = compareAt;
      show("compare-at").hidden = !compareAt;
      show("stock").innerHTML = chip.getAttribute("data-stock-label");
      // the chosen variant's time-limited discount, if it has one ([data-sale-for])
      var picked = chip.querySelector('input[name="variant"]').value;
      form.querySelectorAll("[data-sale-for]").forEach(function (note) {
        note.hidden = note.getAttribute("data-sale-for") !== picked;
      });
      quantity.max = Math.max(1, Math.min(stock, 99));
      if (parseInt(quantity.value, 10) > stock) { quantity.value = Math.max(1, stock); }
      quantity.disabled = stock === 0;
      show("button").disabled = stock === 0;
    };
    form.querySelectorAll('input[name="variant"]').forEach(function (radio) {
      radio.addEventListener("change", function () { update(radio.closest("label")); });
    });
    // A page restored from history may have another chip checked than the server chose.
    var checked = form.querySelector('input[name="variant"]:checked');
    if (checked) { update(checked.closest("label")); }
  });
})();
