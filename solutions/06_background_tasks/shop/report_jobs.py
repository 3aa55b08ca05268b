"""Sales report files made on request, and the URLs that follow them.

``POST /reports/sales/jobs/`` with ``format=csv`` or ``pdf`` starts a job and
answers JSON with its status URL. The status URL answers
``{"job", "state", "progress", "download"}``, where ``state`` is ``queued``,
``running``, ``ready`` or ``failed`` and ``progress`` goes from 0 to 100;
``download`` is the file's URL once it is ready.
"""

import os
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponseBadRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .reports import report_csv, report_pdf, sales_report

# What the result store says about a task, in the words of the status URL.
CELERY_STATES = {"PENDING": "queued", "RECEIVED": "queued", "STARTED": "running",
                 "PROGRESS": "running", "RETRY": "queued", "SUCCESS": "ready",
                 "FAILURE": "failed", "REVOKED": "failed"}

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "sales-report.csv"),
    "pdf": ("application/pdf", "sales-report.pdf"),
}


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


@require_POST
def request_sales_report(request):
    """Start a report job."""
    fmt = request.POST.get("format", "csv")
    if fmt not in FORMATS:
        return HttpResponseBadRequest("format must be csv or pdf")
    from .tasks import generate_sales_report

    job_id = uuid.uuid4()
    # The job's id is the task's id: the status URL asks the result store about it.
    generate_sales_report.apply_async((fmt,), task_id=str(job_id))
    response = JsonResponse(job_status(job_id, "queued"), status=202)
    response["Location"] = reverse("shop:report_job_status", args=[job_id])
    return response


@require_GET
def report_job_status(request, job_id):
    """Where a job is: queued, running (with progress), ready or failed."""
    if find_report(job_id) is not None:
        return JsonResponse(job_status(job_id, "ready"))
    from celery.result import AsyncResult

    result = AsyncResult(str(job_id))
    state = CELERY_STATES.get(result.state, "queued")
    if state == "ready":  # the task finished but its file is gone
        state = "failed"
    progress = result.info.get("progress", 0) if isinstance(result.info, dict) else 0
    return JsonResponse(job_status(job_id, state, progress))


@require_GET
def report_job_download(request, job_id):
    """The finished report file."""
    path = find_report(job_id)
    if path is None:
        raise Http404("This report is not ready.")
    content_type, filename = FORMATS[path.suffix.lstrip(".")]
    return FileResponse(path.open("rb"), as_attachment=True, filename=filename,
                        content_type=content_type)
