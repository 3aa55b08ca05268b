"""Which index a query reads, and whether the models declare it: shared by the graders of the
chapters on indexes (03) and the capstone (14).

Django must be set up; ``model`` is a model class whose table the plan reads.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from django.core.management import call_command

from course.measuring import plans


def migrations_match_models(hint: int = 3) -> None:
    out = io.StringIO()
    try:
        call_command("makemigrations", "shop", check=True, dry_run=True, verbosity=1,
                     stdout=out, stderr=out)
    except SystemExit:
        changes = [line.strip() for line in out.getvalue().splitlines()
                   if line.startswith("    ") and line.strip()]
        pytest.fail("the models and the migrations disagree: `python manage.py makemigrations "
                    "shop` would write a migration that does this:\n  "
                    + "\n  ".join(changes or ["(see makemigrations --dry-run)"])
                    + "\nAn index only in models.py is never built; one only in a migration is "
                    "dropped by the next makemigrations. Change the model, then run "
                    f"makemigrations and migrate [hint {hint}]", pytrace=False)


def declared_indexes(model) -> dict[str, str]:
    """The indexes Django builds for ``model`` from its models (db_index, foreign keys,
    Meta.indexes): name → SQL. An index made by hand-written SQL is not among them."""
    from django.db import connection

    editor = connection.schema_editor(collect_sql=True)  # renders SQL only; never entered
    declared = {}
    for statement in editor._model_indexes_sql(model):
        found = re.search(r'CREATE (?:UNIQUE )?INDEX "?(\w+)"?', str(statement))
        if found:
            declared[found.group(1)] = str(statement)
    return declared


def used_index(model, plan: str, wanted: Callable[[plans.IndexDetails], bool], what: str,
               hint: int, declare_hint: int = 3) -> plans.IndexDetails:
    """The index the plan reads that satisfies ``wanted(details)``, or a failure naming the plan
    and every index of the table; the index must be one the models declare."""
    table = model._meta.db_table
    on_table = plans.table_indexes(table)
    used = [plans.index_details(table, name) for name in sorted(plans.indexes_used(plan))
            if name in on_table]
    for details in used:
        if wanted(details):
            if details.name not in declared_indexes(model) and not details.name.startswith(
                    "sqlite_autoindex"):
                pytest.fail(
                    f"{details.name} ({details.definition}) is in the database, but no model "
                    "declares it: it was made by hand-written SQL (RunSQL), which Django does "
                    "not know, and which may not suit every database. Declare it on the model "
                    "(db_index=True or Meta.indexes) and let makemigrations write the migration "
                    f"[hint {declare_hint}]", pytrace=False)
            return details
    indexes = "\n".join(f"  {plans.index_details(table, name).definition}"
                         for name in on_table if name in database_index_names(table))
    pytest.fail(f"{what}\nthe plan:\n{plan}\nindexes on {table}:\n{indexes} [hint {hint}]",
                pytrace=False)


def database_index_names(table) -> set[str]:
    """Indexes that have a definition to show (not the primary key's)."""
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return {name for name, info in constraints.items()
            if info["index"] and not info["primary_key"]}


def first_plan_line(plan: str) -> str:
    """The first step that reads an index (or else the plan's first), for a one-line summary."""
    lines = [line.strip().strip("-> ") for line in plan.splitlines()]
    return next((line for line in lines if "index" in line.lower()), lines[0])
