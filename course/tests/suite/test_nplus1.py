"""The N+1 scan's judgements on their own: what counts as a menu of every row."""

from __future__ import annotations

from course.suite import nplus1


def _menu(name: str, choices: int) -> str:
    options = "".join(f'<option value="{n}">row {n}</option>' for n in range(choices))
    return f'<select name="{name}" id="id_{name}"><option value="">---------</option>{options}</select>'


def test_a_menu_of_every_order_is_a_finding_a_short_one_is_not() -> None:
    html = _menu("order", 61) + _menu("category", 5) + _menu("user_permissions", 52)
    found = nplus1._whole_table_menus("admin order item add", "/admin/x/", html)
    assert [(f.shape, f.times) for f in found] == [('<select name="order"> of every row', 61)]


def test_a_finding_reads_as_one_line() -> None:
    finding = nplus1.Finding("product list", "/products/", "SELECT " + "x" * 300, 12)
    line = finding.line()
    assert line.startswith("product list (/products/): 12× SELECT") and len(line) < 220
