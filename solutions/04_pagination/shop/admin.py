"""The shop in the Django admin."""

from django.contrib import admin

from .models import Category, Customer, Order, OrderItem, Product, Review, Tag


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "city", "user", "created_at"]
    search_fields = ["name", "email"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "price", "stock", "is_active"]
    list_filter = ["is_active", "category"]
    search_fields = ["name"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["product", "customer", "rating", "created_at"]


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    # A search box instead of a <select> of every product on every line.
    autocomplete_fields = ["product"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["id", "customer", "status", "created_at", "items_in_order"]
    list_filter = ["status"]
    search_fields = ["customer__name", "customer__email"]
    date_hierarchy = "created_at"
    inlines = [OrderItemInline]
    list_select_related = ["customer"]  # say what to join, rather than rely on the guess
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) of the whole table under a filter
    autocomplete_fields = ["customer"]  # CustomerAdmin.search_fields powers the search

    def get_queryset(self, request):
        # One query for the items of the orders on the page. annotate(Count("items")) would
        # also work, but then every COUNT(*) the change list runs groups the whole join.
        return super().get_queryset(request).prefetch_related("items")

    @admin.display(description="items")
    def items_in_order(self, order):
        return len(order.items.all())


@admin.register(OrderItem)
class OrderItemAdmin(admin.ModelAdmin):
    list_display = ["order", "product", "quantity", "unit_price"]
