"""URLs of the shop's pages."""

from django.urls import path

from . import checkout, exports, report_files, report_jobs, views

app_name = "shop"

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/<slug:slug>/", views.product_detail, name="product_detail"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/place/", checkout.place_order, name="place_order"),
    path("customers/<int:pk>/", views.customer_dashboard, name="customer_dashboard"),
    path("reports/sales/", views.sales_report_page, name="sales_report"),
    path("reports/sales.csv", views.sales_report_csv, name="sales_report_csv"),
    path("reports/sales.pdf", views.sales_report_pdf, name="sales_report_pdf"),
    path("reports/sales/jobs/", report_jobs.request_sales_report, name="request_sales_report"),
    path("reports/jobs/<uuid:job_id>/", report_jobs.report_job_status, name="report_job_status"),
    path("reports/jobs/<uuid:job_id>/download", report_files.report_job_download,
         name="report_job_download"),
    path("exports/order-lines.csv", exports.order_lines_csv, name="order_lines_csv"),
]
