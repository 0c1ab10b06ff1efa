/* Checkout: choosing another coupon re-prices the order at once (without JS, the
   "Apply" button of the coupon form does it). */
(function () {
  "use strict";

  document.querySelectorAll("form[data-coupon-picker]").forEach(function (form) {
    var apply = form.querySelector("[data-coupon-apply]");
    if (apply) { apply.hidden = true; }
    form.addEventListener("change", function (event) {
      if (event.target.name === "coupon") { form.submit(); }
    });
  });
})();
