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
})();
