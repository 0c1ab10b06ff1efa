/* Customer service in the back office (support.admin.conversations).

   The inbox (#support-inbox-data): every few seconds, asks the counts endpoint for
   the unread count and waiting time of the conversations listed, and the boxes'
   counts, and writes them into the page.
   A conversation's page (#support-thread-data): asks the poll endpoint for the
   messages after the last one shown and appends them (HTML made by the server);
   inserts a canned reply into the reply box where the cursor is; refuses more
   pictures than a message may carry before anything is sent.
   Every text comes translated from the server; settings arrive as JSON in the page. */
"use strict";

(function () {
    function settings(id) {
        const node = document.getElementById(id);
        return node ? JSON.parse(node.textContent) : null;
    }

    // Ask `url` every `interval` ms while the tab is visible; `apply` gets the JSON.
    // An answer that will not change by asking again stops the polling: a page that
    // is not JSON (signed out: the login page), 403 or 404. A server error (a restart
    // behind the proxy) or a network blip is tried again at the next tick.
    function poll(url, interval, apply) {
        let stopped = false;
        let busy = false;
        async function tick() {
            if (stopped || busy || document.hidden) {
                return;
            }
            busy = true;
            try {
                const response = await fetch(url(), {
                    headers: { Accept: "application/json" },
                    credentials: "same-origin",
                });
                const type = response.headers.get("Content-Type") || "";
                if (response.ok && type.includes("application/json")) {
                    apply(await response.json());
                } else if (response.ok || response.status === 403 || response.status === 404) {
                    stopped = true;
                }
            } catch (error) {
                // a network blip: try again at the next tick
            } finally {
                busy = false;
            }
        }
        window.setInterval(tick, interval);
        document.addEventListener("visibilitychange", function () {
            if (!document.hidden) {
                tick();
            }
        });
    }

    function setLate(element, late) {
        element.classList.toggle("is-late", Boolean(late));
    }

    // --- the inbox ---------------------------------------------------------------

    function inbox(config) {
        const unreadCells = document.querySelectorAll(".support-unread[data-conversation]");
        const ids = Array.from(unreadCells, function (cell) {
            return cell.dataset.conversation;
        });
        function url() {
            return config.countsUrl + "?ids=" + encodeURIComponent(ids.join(","));
        }
        poll(url, config.interval, function (data) {
            unreadCells.forEach(function (cell) {
                const row = data.rows[cell.dataset.conversation];
                if (row) {
                    cell.textContent = row.unread;
                    cell.classList.toggle("is-zero", row.unread === 0);
                }
            });
            document.querySelectorAll(".support-waiting[data-conversation]").forEach(function (cell) {
                const row = data.rows[cell.dataset.conversation];
                if (row) {
                    cell.textContent = row.text || "-";
                    setLate(cell, row.late);
                }
            });
            document.querySelectorAll("[data-box]").forEach(function (badge) {
                if (badge.dataset.box in data.boxes) {
                    badge.textContent = data.boxes[badge.dataset.box];
                }
            });
            document.querySelectorAll("[data-now]").forEach(function (figure) {
                if (figure.dataset.now in data.now) {
                    figure.textContent = data.now[figure.dataset.now];
                }
            });
            const late = document.querySelector(".support-now-late");
            if (late) {
                setLate(late, data.now.waiting_too_long > 0);
            }
        });
    }

    // --- a conversation's page ---------------------------------------------------------

    function nearBottom(element) {
        return element.scrollHeight - element.scrollTop - element.clientHeight < 80;
    }

    function thread(config) {
        const box = document.getElementById("support-thread");
        if (!box) {
            return;
        }
        box.scrollTop = box.scrollHeight;
        let after = config.after;
        function url() {
            return config.pollUrl + "?after=" + encodeURIComponent(after);
        }
        poll(url, config.interval, function (data) {
            const follow = nearBottom(box);
            data.messages.forEach(function (message) {
                if (box.querySelector('[data-message="' + message.id + '"]')) {
                    return;
                }
                const empty = box.querySelector(".empty");
                if (empty) {
                    empty.remove();
                }
                box.insertAdjacentHTML("beforeend", message.html);
                const added = box.lastElementChild;
                if (added) {
                    added.classList.add("is-new");
                }
            });
            after = Math.max(after, data.last_id);
            if (data.messages.length && follow) {
                box.scrollTop = box.scrollHeight;
            }
            const status = document.getElementById("support-status");
            if (status) {
                status.textContent = data.status_label;
                status.className = "support-status support-status-" + data.status;
            }
            const waiting = document.getElementById("support-waiting");
            if (waiting) {
                waiting.textContent = data.waiting.text;
                setLate(waiting, data.waiting.late);
            }
        });
    }

    function cannedReplies() {
        const picker = document.getElementById("support-canned");
        if (!picker) {
            return;
        }
        picker.addEventListener("change", function () {
            const option = picker.selectedOptions[0];
            const target = document.getElementById(picker.dataset.target);
            if (!option || !option.value || !target) {
                return;
            }
            const text = option.dataset.body || "";
            const start = target.selectionStart ?? target.value.length;
            const end = target.selectionEnd ?? target.value.length;
            target.value = target.value.slice(0, start) + text + target.value.slice(end);
            target.focus();
            target.selectionStart = target.selectionEnd = start + text.length;
            picker.value = "";
        });
    }

    function pictureLimit() {
        const input = document.getElementById("support-reply-pictures");
        const problem = document.getElementById("support-picture-problem");
        if (!input || !problem) {
            return;
        }
        const max = Number(input.dataset.max || 4);
        input.addEventListener("change", function () {
            const tooMany = input.files.length > max;
            problem.hidden = !tooMany;
            input.setCustomValidity(tooMany ? problem.textContent.trim() : "");
        });
    }

    function start() {
        const inboxConfig = settings("support-inbox-data");
        if (inboxConfig) {
            inbox(inboxConfig);
        }
        const threadConfig = settings("support-thread-data");
        if (threadConfig) {
            thread(threadConfig);
        }
        cannedReplies();
        pictureLimit();
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
})();
