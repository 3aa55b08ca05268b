"""Sales report files made on request, and the URLs that follow them.

``POST /reports/sales/jobs/`` with ``format=csv`` or ``pdf`` starts a job and
answers JSON with its status URL. The status URL answers
``{"job", "state", "progress", "download"}``, where ``state`` is ``queued``,
``running``, ``ready`` or ``failed`` and ``progress`` goes from 0 to 100;
``download`` is the file's URL once it is ready. Files themselves: ``report_files.py``.
"""

import uuid

from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from .report_files import FORMATS, find_report, job_status, write_report


@require_POST
def request_sales_report(request):
    """Start a report job."""
    fmt = request.POST.get("format", "csv")
    if fmt not in FORMATS:
        return HttpResponseBadRequest("format must be csv or pdf")
    job_id = uuid.uuid4()
    # TODO(06.3): the customer waits for the whole report (seconds on a big shop) and a busy
    # app server has one worker fewer meanwhile. Answer at once with 202 Accepted and the
    # status URL, and let the Celery worker write the file.
    write_report(job_id, fmt)
    return JsonResponse(job_status(job_id, "ready"))


@require_GET
def report_job_status(request, job_id):
    """Where a job is: queued, running (with progress), ready or failed."""
    # TODO(06.3): a job that is not finished yet must say where it is, not 404.
    if find_report(job_id) is None:
        raise Http404("No such report job.")
    return JsonResponse(job_status(job_id, "ready"))
