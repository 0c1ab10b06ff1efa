/* An export job's page (templates/admin/reports/export_job.html): ask the job's
   status URL every couple of seconds and move the bar, until the job is done
   (then show the download link) or failed (then show why). */
"use strict";
(function () {
    const box = document.getElementById("export-job");
    if (!box) {
        return;
    }
    const url = box.dataset.statusUrl;
    const part = (role) => box.querySelector(`[data-role="${role}"]`);
    const rowsText = document.getElementById("export-rows-text");
    const INTERVAL = 1500;
    let failures = 0;

    function show(status) {
        part("bar").value = status.progress;
        part("bar").textContent = `${status.progress}%`;
        part("percent").textContent = `${status.progress}%`;
        part("label").textContent = status.label;
        part("label").className = `export-status status-${status.status}`;
        if (status.rows_total && rowsText) {
            part("rows").textContent = rowsText.content.textContent
                .replace("%(done)s", status.rows_done)
                .replace("%(total)s", status.rows_total);
        }
        if (status.error) {
            part("error").textContent = status.error;
            part("error").hidden = false;
        }
        if (status.download) {
            part("download-link").href = status.download;
            part("download").hidden = false;
        }
        part("waiting").hidden = status.finished;
    }

    function poll() {
        fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
            .then((response) => {
                if (!response.ok) {
                    throw new Error(response.status);
                }
                return response.json();
            })
            .then((status) => {
                failures = 0;
                show(status);
                if (!status.finished) {
                    window.setTimeout(poll, INTERVAL);
                }
            })
            .catch(() => {
                // a passing network error: try again, more slowly, for a while
                failures += 1;
                if (failures < 20) {
                    window.setTimeout(poll, INTERVAL * Math.min(failures + 1, 5));
                }
            });
    }

    window.setTimeout(poll, INTERVAL);
})();
