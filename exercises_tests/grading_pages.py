"""A page requested the way the graders request one: a view that raises, or answers anything
but 200, fails the test in one line in the grader's words, not with the learner's traceback."""

from __future__ import annotations

from typing import Any

import pytest

from course.measuring.measure import counted


def get_page(client: Any, url: str) -> tuple[Any, int, list[str]]:
    """GET ``url`` with ``client``: the response, how many queries it ran, and their SQL."""
    try:
        response, count, statements = counted(client.get, url)
    except Exception as error:  # the view raised: say so in the grader's words
        pytest.fail(f"{url} raised {type(error).__name__}: {error}", pytrace=False)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return response, count, statements
