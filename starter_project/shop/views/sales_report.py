"""The sales report as a page, a CSV file and a PDF file (the figures: shop/reports.py)."""

from django.http import HttpResponse
from django.shortcuts import render

from ..reports import report_csv, report_pdf, sales_report


def sales_report_page(request):
    return render(request, "shop/sales_report.html", {"report": sales_report()})


def sales_report_csv(request):
    response = HttpResponse(report_csv(sales_report()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="sales-report.csv"'
    return response


def sales_report_pdf(request):
    response = HttpResponse(report_pdf(sales_report()), content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="sales-report.pdf"'
    return response
