"""Sales report files made on request, and the URLs that follow them.

``POST /reports/sales/jobs/`` with ``format=csv`` or ``pdf`` starts a job and
answers JSON with its status URL. The status URL answers
``{"job", "state", "progress", "download"}``, where ``state`` is ``queued``,
``running``, ``ready`` or ``failed`` and ``progress`` goes from 0 to 100;
``download`` is the file's URL once it is ready. Files themselves: ``report_files.py``.
"""

import uuid

from celery.result import AsyncResult
from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .report_files import FORMATS, find_report, job_status
from .tasks import generate_sales_report

# What the result store says about a task, in the words of the status URL.
CELERY_STATES = {"PENDING": "queued", "RECEIVED": "queued", "STARTED": "running",
                 "PROGRESS": "running", "RETRY": "queued", "SUCCESS": "ready",
                 "FAILURE": "failed", "REVOKED": "failed"}


@require_POST
def request_sales_report(request):
    """Start a report job."""
    fmt = request.POST.get("format", "csv")
    if fmt not in FORMATS:
        return HttpResponseBadRequest("format must be csv or pdf")
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
    result = AsyncResult(str(job_id))
    state = CELERY_STATES.get(result.state, "queued")
    if state == "ready":  # the task finished but its file is gone
        state = "failed"
    progress = result.info.get("progress", 0) if isinstance(result.info, dict) else 0
    return JsonResponse(job_status(job_id, state, progress))
