/* A WeChat Pay merchant transfer reaches the distributor once they accept it in WeChat. */
(function () {
  "use strict";
  var data = document.getElementById("wechat-transfer");
  var button = document.getElementById("wechat-accept-transfer");
  if (!data || !button) { return; }
  var params = JSON.parse(data.textContent);
  button.addEventListener("click", function () {
    if (!window.WeixinJSBridge) {
      window.alert(button.getAttribute("data-outside-wechat") || "Open this page in WeChat.");
      return;
    }
    window.WeixinJSBridge.invoke("requestMerchantTransfer", params, function (result) {
      if (result && result.err_msg === "requestMerchantTransfer:ok") {
        window.setTimeout(function () { window.location.reload(); }, 2000);
      }
    });
  });
})();
