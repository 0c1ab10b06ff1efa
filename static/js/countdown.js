/* The time left to pay an unpaid order, counted down each second.
   The server renders <p data-countdown="SECONDS LEFT" data-countdown-label="… %s"
   data-countdown-expired="…"> with the deadline as text, which stays without JS;
   when time is up, the pay form beside it ([data-pay-form]) is hidden.
   Seconds come from the server's clock, so a phone set to the wrong time counts right. */
(function () {
  "use strict";

  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var format = function (seconds) {
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    return (h ? h + ":" + pad(m) : pad(m)) + ":" + pad(s);
  };

  var started = Date.now();
  var timers = [];
  document.querySelectorAll("[data-countdown]").forEach(function (element) {
    var text = element.querySelector("[data-countdown-text]");
    var left = parseInt(element.getAttribute("data-countdown"), 10);
    if (!text || isNaN(left)) { return; }
    timers.push({ element: element, text: text, left: left });
  });
  if (!timers.length) { return; }

  var tick = function () {
    var elapsed = Math.floor((Date.now() - started) / 1000);
    timers.forEach(function (timer) {
      var left = Math.max(0, timer.left - elapsed);
      if (left > 0) {
        timer.text.textContent = timer.element.getAttribute("data-countdown-label")
          .replace("%s", format(left));
      } else {
        timer.text.textContent = timer.element.getAttribute("data-countdown-expired");
        timer.element.classList.add("is-expired");
        // time is up: no more paying for an order about to be cancelled
        var pay = timer.element.parentElement.querySelector("[data-pay-form]");
        if (pay) { pay.hidden = true; }
      }
    });
  };
  tick();
  window.setInterval(tick, 1000);
})();
