/* The header's unread counts (消息, 客服, 我的), refreshed every 30 s while the tab is
   visible, from the JSON of notifications:badge. The page shows the counts it was
   rendered with; without this file they are only as fresh as the page. */
(function () {
  "use strict";

  var holder = document.querySelector("[data-badges]");
  if (!holder || !window.fetch) { return; }
  var url = holder.getAttribute("data-badges");
  var EVERY = 30000;
  var timer = null;
  var signedOut = false;

  var show = function (name, count) {
    document.querySelectorAll('[data-badge="' + name + '"]').forEach(function (badge) {
      badge.textContent = count > 99 ? "99+" : String(count);
      badge.hidden = !count;
    });
  };

  var refresh = function () {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) { signedOut = true; stop(); return null; } // signed out elsewhere
        return response.ok ? response.json() : null;
      })
      .then(function (counts) {
        if (!counts) { return; }
        show("messages", counts.messages || 0);
        show("support", counts.support || 0);
        show("total", (counts.messages || 0) + (counts.support || 0));
      })
      .catch(function () { /* offline: keep the counts shown */ });
  };

  var start = function () {
    if (timer === null && !signedOut) { timer = window.setInterval(refresh, EVERY); }
  };
  var stop = function () {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
  };

  document.addEventListener("visibilitychange", function () {
    if (signedOut) { return; }
    if (document.visibilityState === "visible") {
      refresh();
      start();
    } else {
      stop();
    }
  });
  if (document.visibilityState === "visible") { start(); }
})();
