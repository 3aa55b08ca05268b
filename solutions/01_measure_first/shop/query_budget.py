"""A query budget for tests and notebooks: fail loudly when code runs too many queries.

    with query_budget(3):
        render_the_order_list()

raises AssertionError if the block ran more than three queries.
"""

from contextlib import contextmanager

from django.db import connections
from django.test.utils import CaptureQueriesContext

_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def counted(captured_queries):
    """The statements the code asked for: savepoints from atomic() blocks left out."""
    return [
        query["sql"]
        for query in captured_queries
        if not query["sql"].lstrip().upper().startswith(_TRANSACTION_CONTROL)
    ]


@contextmanager
def query_budget(max_queries, using="default"):
    with CaptureQueriesContext(connections[using]) as context:
        yield context
    statements = counted(context.captured_queries)
    if len(statements) > max_queries:
        shown = "\n".join(f"  {n}. {sql}" for n, sql in enumerate(statements[:20], start=1))
        more = f"\n  … and {len(statements) - 20} more" if len(statements) > 20 else ""
        raise AssertionError(
            f"{len(statements)} queries ran; the budget is {max_queries}:\n{shown}{more}"
        )
