"""Reading plans: index names and sorts, from the text SQLite and PostgreSQL print."""

from __future__ import annotations

import pytest

from course.measuring import plans

SQLITE_SEARCH = "SEARCH shop_order USING INDEX shop_order_created_at_689003eb (created_at>?)"
SQLITE_SORTED = (
    "SEARCH shop_order USING INDEX shop_order_customer_id_f638df20 (customer_id=?)\n"
    "USE TEMP B-TREE FOR ORDER BY"
)
SQLITE_COVERING = "SCAN shop_order USING COVERING INDEX order_pending_idx"
POSTGRES_BACKWARD = (
    "Limit  (cost=0.29..13.80 rows=10 width=33)\n"
    "  ->  Index Scan Backward using shop_order_created_at_689003eb on shop_order"
    "  (cost=0.29..1351.29 rows=1000 width=33)\n"
    "        Filter: (customer_id = 1)"
)
POSTGRES_SORTED = (
    "Limit  (cost=81.20..81.22 rows=10 width=33)\n"
    "  ->  Sort  (cost=81.20..81.25 rows=20 width=33)\n"
    "        Sort Key: created_at DESC\n"
    "        ->  Bitmap Heap Scan on shop_order  (cost=4.44..80.77 rows=20 width=33)\n"
    "              ->  Bitmap Index Scan on shop_order_customer_id_f638df20"
)
POSTGRES_INDEX_ONLY = "Aggregate\n  ->  Index Only Scan using order_pending_idx on shop_order"
POSTGRES_SEQ = "Aggregate\n  ->  Seq Scan on shop_order\n        Filter: ((status)::text = 'pending')"


@pytest.mark.parametrize(("plan", "names"), [
    (SQLITE_SEARCH, {"shop_order_created_at_689003eb"}),
    (SQLITE_SORTED, {"shop_order_customer_id_f638df20"}),
    (SQLITE_COVERING, {"order_pending_idx"}),
    ("SCAN shop_order", set()),
    (POSTGRES_BACKWARD, {"shop_order_created_at_689003eb"}),
    (POSTGRES_SORTED, {"shop_order_customer_id_f638df20"}),
    (POSTGRES_INDEX_ONLY, {"order_pending_idx"}),
    (POSTGRES_SEQ, set()),
])
def test_indexes_used(plan: str, names: set[str]) -> None:
    assert plans.indexes_used(plan) == names


@pytest.mark.parametrize(("plan", "sorted_by_the_database"), [
    (SQLITE_SEARCH, False),
    (SQLITE_SORTED, True),
    ("SCAN t\nUSE TEMP B-TREE FOR RIGHT PART OF ORDER BY", True),
    (POSTGRES_BACKWARD, False),
    (POSTGRES_SORTED, True),
    ("Incremental Sort  (cost=1.0..2.0 rows=1 width=4)", True),
    (POSTGRES_INDEX_ONLY, False),
])
def test_sorts(plan: str, sorted_by_the_database: bool) -> None:
    assert plans.sorts(plan) is sorted_by_the_database
