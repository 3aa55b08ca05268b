"""The shop in the Django admin."""

from django.contrib import admin

from .images import make_thumbnail
from .models import Category, Customer, Order, OrderItem, Product, Review, Tag


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "city", "user", "created_at"]
    search_fields = ["name", "email"]
    # Menus of a table that grows (every user, order, product) weigh megabytes on real data:
    # a search box instead, here and below.
    autocomplete_fields = ["user"]


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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "image" in form.changed_data and obj.image:
            # TODO(07.6): the thumbnail is made here, in the request: the admin waits while
            # Pillow reads the whole upload back from the storage and shrinks it.
            make_thumbnail(obj)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["product", "customer", "rating", "created_at"]
    autocomplete_fields = ["product", "customer"]


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    # TODO(04.3): the change list runs a query per row, and a full COUNT(*) of the table
    # whenever it is filtered.
    # TODO(04.4): the change form lists every customer and, on every item line, every
    # product.
    list_display = ["id", "customer", "status", "created_at", "items_in_order"]
    list_filter = ["status"]
    search_fields = ["customer__name", "customer__email"]
    date_hierarchy = "created_at"
    inlines = [OrderItemInline]

    @admin.display(description="items")
    def items_in_order(self, order):
        return order.items.count()


@admin.register(OrderItem)
class OrderItemAdmin(admin.ModelAdmin):
    list_display = ["order", "product", "quantity", "unit_price"]
    autocomplete_fields = ["order", "product"]
