"""A query budget for tests and notebooks: fail loudly when code runs too many queries.

    with query_budget(3):
        render_the_order_list()

is meant to raise AssertionError if the block ran more than three queries.
"""

from contextlib import contextmanager


@contextmanager
def query_budget(max_queries, using="default"):
    # TODO(01.2): count the queries the block runs on the `using` connection and raise
    # AssertionError (saying how many ran, and which) when there are more than max_queries.
    # SAVEPOINT / RELEASE SAVEPOINT statements from transaction.atomic() are not queries.
    yield
