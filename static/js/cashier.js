/* The cashier: poll the payment until it is paid, and pay inside WeChat (JSAPI). */
(function () {
  "use strict";

  var page = document.querySelector("[data-payment-status]");
  if (!page) { return; }
  var statusUrl = page.getAttribute("data-payment-status");
  var waiting = page.querySelector(".pay-waiting");
  var delay = 1500;
  var timer = null;

  function later(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, ms);
  }

  function poll() {
    window.clearTimeout(timer);
    fetch(statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && data.paid) {
          if (waiting) {
            waiting.removeAttribute("data-waiting");
            waiting.textContent = waiting.getAttribute("data-paid-text");
          }
          window.location.assign(data.order_url);
          return;
        }
        delay = Math.min(delay * 1.3, 8000);
        later(delay);
      })
      .catch(function () { later(8000); });
  }
  later(delay);

  // Back from the WeChat or Alipay app (H5, wap): look at once rather than at the next tick.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { poll(); }
  });

  // JSAPI: WeChat's own browser provides WeixinJSBridge; the parameters are signed by us.
  var params = document.getElementById("wechat-jsapi");
  var button = document.getElementById("wechat-jsapi-pay");
  if (!params || !button) { return; }
  var request = JSON.parse(params.textContent);
  function invoke() {
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", request, function (result) {
      if (result && result.err_msg === "get_brand_wcpay_request:ok") {
        poll();  // the notification, not this answer, marks the order paid
      }
    });
  }
  function payNow() {
    if (window.WeixinJSBridge) {
      invoke();
    } else {
      document.addEventListener("WeixinJSBridgeReady", invoke, { once: true });
    }
  }
  button.addEventListener("click", payNow);
  payNow();
})();
