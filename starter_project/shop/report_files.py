"""Sales report files: where a report job's file is written, how, and how it is downloaded.

A job's file is ``SHOP_REPORTS_DIR/<job id>.<csv|pdf>``; it appears only when
complete (written as ``.part``, then renamed), so its existence means "ready".
The views that start jobs and say where they are live in ``report_jobs.py``.
"""

import os
import time
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404
from django.urls import reverse
from django.views.decorators.http import require_GET

from .reports import report_csv, report_pdf, sales_report

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "sales-report.csv"),
    "pdf": ("application/pdf", "sales-report.pdf"),
}


# TODO(11.2): a report is a file on the disk of the machine whose worker wrote it. With the
# shop on several machines (a worker here, app servers there), the app server a visitor's
# next request reaches has no such file: the job looks failed and the download is a 404.
def report_file(job_id, fmt):
    """Where the report of job ``job_id`` is written."""
    return Path(settings.SHOP_REPORTS_DIR) / f"{job_id}.{fmt}"


def find_report(job_id):
    """The finished report file of a job, or None."""
    for fmt in FORMATS:
        path = report_file(job_id, fmt)
        if path.exists():
            return path
    return None


def write_report(job_id, fmt, progress=None):
    """Compute the sales report and write it as the job's file; ``progress(percent)`` is
    called as the work goes on. The file appears only when it is complete."""
    def step(percent):
        if progress is not None:
            progress(percent)
        if percent < 100 and settings.SHOP_REPORT_PAUSE:
            time.sleep(settings.SHOP_REPORT_PAUSE)

    step(5)
    report = sales_report()
    step(70)
    content = report_csv(report).encode() if fmt == "csv" else report_pdf(report)
    step(90)
    path = report_file(job_id, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(content)
    os.replace(partial, path)
    step(100)
    return path


def job_status(job_id, state, progress=0):
    """The JSON that describes a job."""
    ready = state == "ready"
    return {
        "job": str(job_id),
        "state": state,
        "progress": 100 if ready else progress,
        "status": reverse("shop:report_job_status", args=[job_id]),
        "download": reverse("shop:report_job_download", args=[job_id]) if ready else None,
    }


@require_GET
def report_job_download(request, job_id):
    """The finished report file."""
    path = find_report(job_id)
    if path is None:
        raise Http404("This report is not ready.")
    content_type, filename = FORMATS[path.suffix.lstrip(".")]
    return FileResponse(path.open("rb"), as_attachment=True, filename=filename,
                        content_type=content_type)
