"""A big export through a real Celery worker: the admin asks, the worker writes the file
chunk by chunk (each chunk a task the previous one enqueued), the page's status endpoint
follows it, and the requester downloads every row once."""

import csv
import io
import json
import time

import pytest
from django.urls import reverse

from catalog.models import StockMovement
from reports import exports
from reports.definitions import Filters
from reports.models import ExportJob

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

EXPORT_TIMEOUT = 60  # seconds


def test_the_worker_writes_a_big_export_in_chunks_and_the_requester_downloads_it(
    start_worker, settings, tmp_path, client, admin_user, variant
):
    # given: a worker sharing this process's media folder, and more stock movements than
    # two chunks hold
    settings.MEDIA_ROOT = str(tmp_path)
    worker = start_worker(env={"MEDIA_ROOT": str(tmp_path)})
    rows = exports.CHUNK_ROWS * 2 + 7
    StockMovement.objects.bulk_create(
        StockMovement(
            variant=variant, kind="adjusted", quantity=1, stock_after=n, reference=f"R{n:06d}"
        )
        for n in range(rows)
    )
    period = Filters.last_days()
    client.force_login(admin_user)

    # when: staff export the stock movements as CSV
    response = client.post(
        reverse("admin:report_export", args=["stock-movements"]),
        {"start": period.start.isoformat(), "end": period.end.isoformat(), "format": "csv"},
    )

    # then: they are sent to the job's page at once, and the worker finishes the file
    job = ExportJob.objects.get()
    assert response.status_code == 302
    status_url = reverse("admin:report_export_status", args=[job.token])
    deadline = time.monotonic() + EXPORT_TIMEOUT
    while True:
        status = json.loads(client.get(status_url).content)
        if status["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    job.refresh_from_db()
    assert (job.status, job.rows_done) == ("done", rows + 1), worker.output  # + opening stock
    download = client.get(reverse("admin:report_export_download", args=[job.token]))
    content = b"".join(download.streaming_content).decode("utf-8-sig")
    references = [line[6] for line in list(csv.reader(io.StringIO(content)))[1:]]
    assert sorted(r for r in references if r) == [f"R{n:06d}" for n in range(rows)]
