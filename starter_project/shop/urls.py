"""URLs of the shop's pages."""

from django.conf import settings
from django.conf.urls.static import static
from django.urls import path

from . import checkout, exports, report_files, report_jobs
from .views.customer_dashboard import customer_dashboard
from .views.order_list import order_list
from .views.product_detail import product_detail
from .views.product_list import product_list
from .views.sales_report import sales_report_csv, sales_report_page, sales_report_pdf
from .views.shipping_quote import shipping_quote
from .views.trending import trending

app_name = "shop"

urlpatterns = [
    path("products/", product_list, name="product_list"),
    path("products/<slug:slug>/", product_detail, name="product_detail"),
    path("products/<slug:slug>/shipping/", shipping_quote, name="shipping_quote"),
    path("trending/", trending, name="trending"),
    path("orders/", order_list, name="order_list"),
    path("orders/place/", checkout.place_order, name="place_order"),
    path("customers/<int:pk>/", customer_dashboard, name="customer_dashboard"),
    path("customers/<int:pk>/order-again/", checkout.order_again, name="order_again"),
    path("reports/sales/", sales_report_page, name="sales_report"),
    path("reports/sales.csv", sales_report_csv, name="sales_report_csv"),
    path("reports/sales.pdf", sales_report_pdf, name="sales_report_pdf"),
    path("reports/sales/jobs/", report_jobs.request_sales_report, name="request_sales_report"),
    path("reports/jobs/<uuid:job_id>/", report_jobs.report_job_status, name="report_job_status"),
    path("reports/jobs/<uuid:job_id>/download", report_files.report_job_download,
         name="report_job_download"),
    path("exports/order-lines.csv", exports.order_lines_csv, name="order_lines_csv"),
]

# Uploaded pictures from MEDIA_ROOT, in development only (static() adds nothing when DEBUG is off).
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
