"""URLs of the shop's pages."""

from django.urls import path

from . import exports, views

app_name = "shop"

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/<slug:slug>/", views.product_detail, name="product_detail"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/place/", views.place_order, name="place_order"),
    path("customers/<int:pk>/", views.customer_dashboard, name="customer_dashboard"),
    path("reports/sales/", views.sales_report_page, name="sales_report"),
    path("reports/sales.csv", views.sales_report_csv, name="sales_report_csv"),
    path("reports/sales.pdf", views.sales_report_pdf, name="sales_report_pdf"),
    path("exports/order-lines.csv", exports.order_lines_csv, name="order_lines_csv"),
]
