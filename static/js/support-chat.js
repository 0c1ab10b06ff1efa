/* Customer service (客服): a live thread on top of pages that work without this file.
 *
 * - [data-chat] (the conversation page) polls its data-poll-url every 3 s while the
 *   tab is visible (every 30 s when hidden), appends the new messages the server
 *   rendered, and swaps the closing panel when the conversation's state changed.
 * - [data-chat-form] is sent with fetch (JSON answer); without JavaScript it posts and
 *   the server redirects back to the thread.
 * - [data-picture-previews] shows the pictures chosen in the form's file input.
 * Nothing here writes HTML built from text: new messages arrive escaped by the server.
 */
(function () {
  "use strict";

  var VISIBLE_DELAY = 3000;
  var HIDDEN_DELAY = 30000;
  var MAX_DELAY = 60000;

  // --- Chosen pictures, shown before sending (data: URLs: the CSP allows no blob:) ---
  function showPreviews(form) {
    var input = form.querySelector('input[type="file"]');
    var box = form.querySelector("[data-picture-previews]");
    if (!input || !box) { return; }
    form.classList.add("has-previews-js");
    input.addEventListener("change", function () {
      box.textContent = "";
      var files = Array.prototype.slice.call(input.files || []);
      box.hidden = files.length === 0;
      files.forEach(function (file) {
        var item = document.createElement("span");
        item.className = "chat-preview";
        item.title = file.name;
        if (/^image\//.test(file.type) && window.FileReader) {
          var reader = new FileReader();
          reader.onload = function () {
            var img = document.createElement("img");
            img.alt = file.name;
            img.src = reader.result;
            item.appendChild(img);
          };
          reader.readAsDataURL(file);
        } else {
          item.textContent = file.name;
        }
        box.appendChild(item);
      });
    });
  }
  document.querySelectorAll("form").forEach(function (form) {
    if (form.querySelector("[data-picture-previews]")) { showPreviews(form); }
  });

  var chat = document.querySelector("[data-chat]");
  if (!chat) { return; }
  var thread = chat.querySelector("[data-chat-thread]");
  var state = chat.querySelector("[data-chat-state]");
  var status = chat.querySelector("[data-chat-status]");
  var form = chat.querySelector("[data-chat-form]");
  var pollUrl = chat.getAttribute("data-poll-url");
  var lastId = parseInt(chat.getAttribute("data-last-id"), 10) || 0;
  var timer = null;
  var failures = 0;
  var inFlight = false;
  var again = false;  // a poll asked for while one was under way (after sending)

  function visible() { return document.visibilityState !== "hidden"; }

  function nearBottom() {
    var doc = document.documentElement;
    return window.innerHeight + window.scrollY >= doc.scrollHeight - 200;
  }

  // The newest message in view: the page's end, where the reply bar rests.
  function toBottom() {
    window.scrollTo({ top: document.documentElement.scrollHeight, behavior: "instant" });
  }

  function append(messages, force) {
    var follow = force || nearBottom();
    var added = false;
    messages.forEach(function (message) {
      if (message.id <= lastId || thread.querySelector('[data-message-id="' + message.id + '"]')) {
        return;
      }
      thread.insertAdjacentHTML("beforeend", message.html);
      lastId = message.id;
      added = true;
    });
    if (added && follow) { toBottom(); }
  }

  function applyState(data) {
    if (data.state_html !== undefined && state.getAttribute("data-chat-state") !== data.state) {
      state.innerHTML = data.state_html;
      state.setAttribute("data-chat-state", data.state);
    }
    if (status && data.status_label) { status.textContent = data.status_label; }
    if (status) {
      status.classList.toggle("badge-success", data.status === "open");
      status.classList.toggle("badge-muted", data.status !== "open");
    }
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, delay);
  }

  function nextDelay() {
    var base = visible() ? VISIBLE_DELAY : HIDDEN_DELAY;
    return Math.min(base * Math.pow(2, failures), MAX_DELAY);
  }

  function poll(force) {
    window.clearTimeout(timer);
    if (inFlight) { again = true; return; }
    inFlight = true;
    var url = pollUrl + "?after=" + lastId +
      "&state=" + encodeURIComponent(state.getAttribute("data-chat-state") || "") +
      (visible() ? "&seen=1" : "");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        append(data.messages, force === true);
        applyState(data);
      })
      .catch(function () { failures = Math.min(failures + 1, 4); })
      .then(function () {
        inFlight = false;
        if (again) { again = false; poll(true); } else { schedule(nextDelay()); }
      });
  }

  document.addEventListener("visibilitychange", function () {
    if (visible()) { poll(); } else { schedule(HIDDEN_DELAY); }
  });

  toBottom();
  // pictures and fonts may still grow the page: once it has loaded, to its end again
  // (unless the shopper scrolled up meanwhile)
  var scrolledAt = window.scrollY;
  window.addEventListener("load", function () {
    if (window.scrollY >= scrolledAt) { toBottom(); }
  });
  schedule(VISIBLE_DELAY);

  if (!form) { return; }
  var body = form.querySelector("textarea");
  var send = form.querySelector('button[type="submit"]');
  var failed = form.querySelector("[data-send-failed]");
  var sending = false;

  function showErrors(errors) {
    form.querySelectorAll("[data-errors-for]").forEach(function (box) {
      var messages = errors[box.getAttribute("data-errors-for")] || [];
      box.textContent = "";
      messages.forEach(function (text) {
        var p = document.createElement("p");
        p.textContent = text;
        box.appendChild(p);
      });
      box.hidden = messages.length === 0;
    });
    var general = errors.__all__ || [];
    if (general.length) {
      failed.textContent = general.join(" ");
      failed.hidden = false;
    }
  }

  form.addEventListener("submit", function (event) {
    if (!window.fetch || !window.FormData) { return; }  // the plain post
    event.preventDefault();
    if (sending) { return; }
    sending = true;
    send.disabled = true;
    var label = send.textContent;
    send.textContent = send.getAttribute("data-sending-label") || label;
    failed.hidden = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    })
      .then(function (response) {
        return response.json().then(function (data) { return { ok: response.ok, data: data }; },
          function () { return { ok: false, data: {} }; });
      })
      .then(function (answer) {
        if (answer.ok) {
          form.reset();
          var previews = form.querySelector("[data-picture-previews]");
          if (previews) { previews.textContent = ""; previews.hidden = true; }
          showErrors({});
          poll(true);
        } else if (answer.data.errors) {
          showErrors(answer.data.errors);
        } else {
          failed.hidden = false;
        }
      })
      .catch(function () { failed.hidden = false; })
      .then(function () {
        sending = false;
        send.disabled = false;
        send.textContent = label;
        if (body) { body.focus(); }
      });
  });

  // Enter sends, Shift+Enter starts a new line, with a keyboard and a mouse (as WeChat
  // on a computer); on a phone Enter is a new line. Never while an IME composes (拼音).
  var finePointer = window.matchMedia && window.matchMedia("(pointer: fine)").matches;
  if (body && finePointer) {
    body.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        if (form.requestSubmit) { form.requestSubmit(); } else { send.click(); }
      }
    });
  }
})();
