"""Every documentation link in the course resolves to a section of the pinned versions' docs.

    python -m course.suite.doclinks

Links are taken from the lessons, the notebooks (markdown and code cells), the
catalog's hints, ``README.md`` and ``MAINTAINERS.md``. A link to a site whose reST
sources ship in a pinned package (Django, Celery, kombu, django-debug-toolbar,
django-extensions) must name the pinned version and an existing page and anchor of
those sources (``course.suite.docsources``); a link to another site with versioned
docs (PostgreSQL, locust …) must name the version the course runs, and is listed as
not checked offline, like every link to a site the course has no sources for.
Prints one line per broken link and exits non-zero when there is one.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from course import paths
from course.suite import docsources, restanchors

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

URL = re.compile(r"https?://[^\s<>()\[\]{}\"'`\\|]+")
TRAILING = ".,;:!?*_"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", "testserver", "example.com",
               "example.org", "example.net"}


@dataclass(frozen=True)
class Link:
    url: str
    where: str  # "lessons/01_measure_first.md:43", "notebooks/… cell 5", "… 01.1 hint 3"


@dataclass
class Report:
    broken: list[str] = field(default_factory=list)  # one line per broken link
    unchecked: dict[str, list[str]] = field(default_factory=dict)  # url → where it is
    checked: int = 0


# --- finding links ---------------------------------------------------------------------------

def urls_in(text: str) -> list[str]:
    """The web addresses in a text, without the punctuation that ends a sentence around them;
    examples (``…``) and addresses on this machine left out."""
    found = []
    for match in URL.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        host = urlsplit(url).hostname or ""
        if "…" in url or "..." in url or host in LOCAL_HOSTS or host.endswith(".local"):
            continue
        found.append(url)
    return found


def links_in_text(text: str, where: str) -> list[Link]:
    return [Link(url, f"{where}:{number}") for number, line in enumerate(text.splitlines(), 1)
            for url in urls_in(line)]


def links_in_notebook(path: Path, where: str) -> list[Link]:
    cells = json.loads(path.read_text()).get("cells", [])
    found = []
    for number, cell in enumerate(cells, 1):
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else source
        found += [Link(url, f"{where} cell {number} ({cell.get('cell_type', '?')})")
                  for url in urls_in(text)]
    return found


def _catalog_strings(value: object, label: str) -> Iterator[tuple[str, str]]:
    """Every string of the catalog, labelled by exercise id (or chapter) and key."""
    if isinstance(value, dict):
        name = str(value.get("id") or value.get("slug") or label)
        for key, item in value.items():
            if isinstance(item, list) and all(isinstance(s, str) for s in item):
                singular = key[:-1] if key.endswith("s") else key
                for number, text in enumerate(item, 1):
                    yield f"{name} {singular} {number}", text
            elif isinstance(item, str):
                yield f"{name} {key}", item
            else:
                yield from _catalog_strings(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _catalog_strings(item, label)


def links_in_catalog(path: Path, where: str) -> list[Link]:
    data = tomllib.loads(path.read_text())
    return [Link(url, f"{where} {label}") for label, text in _catalog_strings(data, "")
            for url in urls_in(text)]


def course_links(root: Path = paths.ROOT) -> list[Link]:
    """Every web address in the lessons, notebooks, catalog, README and MAINTAINERS."""
    found: list[Link] = []
    for path in sorted((root / "lessons").glob("*.md")):
        found += links_in_text(path.read_text(), str(path.relative_to(root)))
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        found += links_in_notebook(path, str(path.relative_to(root)))
    catalog = root / "exercises_tests" / "catalog.toml"
    if catalog.exists():
        found += links_in_catalog(catalog, str(catalog.relative_to(root)))
    for name in ("README.md", "MAINTAINERS.md"):
        if (root / name).exists():
            found += links_in_text((root / name).read_text(), name)
    return found


# --- checking one link -----------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Where a link points on a known site: the version it names (None: none) and the page."""

    site: docsources.Site
    version: str | None
    page: str
    anchor: str


def target(url: str) -> Target | None:
    site = docsources.site_for(url)
    if site is None:
        return None
    parts = urlsplit(url)
    anchor = unquote(parts.fragment)
    if not parts.path.startswith(site.prefix):
        return Target(site, None, parts.path.lstrip("/"), anchor)
    version, _, page = parts.path.removeprefix(site.prefix).partition("/")
    return Target(site, version, page, anchor)


def _pinned_address(found: Target, pinned: str) -> str:
    return found.site.versioned(pinned, found.page, found.anchor)


def version_problem(found: Target, pinned: str) -> str | None:
    """What is wrong with the version a link names, if anything."""
    package = found.site.package
    if found.version is None:
        return (f"no version in the address (readers get whichever docs the site shows "
                f"first); the course pins {package} {pinned}: use {_pinned_address(found, pinned)}")
    if not found.site.accepts(found.version, pinned):
        return (f"links the {found.version!r} docs; the course pins {package} {pinned}: use "
                f"{_pinned_address(found, pinned)}")
    return None


def _nearest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.5)
    return f"; nearest: {', '.join(close)}" if close else ""


def _shown_anchors(page: restanchors.Page, dialect: restanchors.Dialect) -> list[str]:
    """The anchors worth suggesting: not the duplicate forms kept for old links."""
    prefix = dialect.section_prefix
    return sorted(a for a in page.anchors if ":" not in a and not (prefix and
                                                                   a.startswith(prefix)))


class Pages:
    """Parsed pages of the fetched docs, each read once."""

    def __init__(self, docs: dict[str, Path]) -> None:
        self.docs = docs
        self.read: dict[tuple[str, str], restanchors.Page | None] = {}

    def get(self, site: docsources.Site, page: str) -> restanchors.Page | None:
        key = (site.package, page)
        if key not in self.read:
            self.read[key] = docsources.read_page(self.docs[site.package], page, site.dialect)
        return self.read[key]


def page_problem(found: Target, pages: Pages, pinned: str) -> tuple[str | None, bool]:
    """What is wrong with the page and anchor (None if nothing), and whether the anchor
    could be checked at all (members of objects documented from code cannot)."""
    docs = f"{found.site.package} {pinned}'s docs"
    page = pages.get(found.site, found.page)
    if page is None:
        names = docsources.page_names(pages.docs[found.site.package])
        return (f"no page {found.page or '/'!r} in {docs}"
                f"{_nearest(found.page.strip('/').removesuffix('.html'), names)}"), True
    if not found.anchor or found.anchor in page.anchors:
        return None, True
    if page.documents_from_code(found.anchor):
        return None, False
    shown = _shown_anchors(page, found.site.dialect)
    return (f"no anchor #{found.anchor} on {found.page or '/'} in {docs}"
            f"{_nearest(found.anchor, shown)}"), True


# --- the whole check -------------------------------------------------------------------------

def _needed(links: list[Link], versions: dict[str, str]) -> dict[str, str]:
    wanted = {}
    for link in links:
        found = target(link.url)
        if found and found.site.sources and found.site.package in versions:
            wanted[found.site.package] = versions[found.site.package]
    return wanted


def check(links: list[Link], versions: dict[str, str],
          fetch: Callable[[dict[str, str]], dict[str, Path]] = docsources.fetch) -> Report:
    """Check every link against the docs at ``versions``; ``fetch`` gives their sources."""
    report = Report()
    wanted = _needed(links, versions)
    try:
        pages = Pages(fetch(wanted) if wanted else {})
        unavailable = ""
    except docsources.DocsUnavailable as error:
        pages, unavailable = Pages({}), str(error)
    for link in links:
        found = target(link.url)
        if found is None:
            report.unchecked.setdefault(link.url, []).append(link.where)
            continue
        pinned = versions.get(found.site.package)
        if pinned is None:
            report.broken.append(f"{link.where}: {link.url}: {found.site.package} is not "
                                 f"pinned in requirements.txt, so no version can be checked")
            continue
        problems = [p for p in [version_problem(found, pinned)] if p]
        checked = found.site.sources and not unavailable
        if found.site.sources and unavailable:
            problems.append(f"not checked: {unavailable}")
        if checked:
            problem, checked = page_problem(found, pages, pinned)
            problems += [problem] if problem else []
        if problems:
            report.broken.append(f"{link.where}: {link.url}: {'; '.join(problems)}")
        elif checked:
            report.checked += 1
        else:
            report.unchecked.setdefault(link.url, []).append(link.where)
    return report


def show(report: Report, echo: Callable[[str], None] = print) -> None:
    for line in report.broken:
        echo(f"BROKEN {line}")
    if report.unchecked:
        echo("not checked offline (no docs sources in a pinned package; a versioned address "
             "was checked for the pinned version):")
        for url, places in sorted(report.unchecked.items()):
            echo(f"  {url}  ({', '.join(places)})")
    echo(f"docs links: {report.checked} resolve in the pinned docs, {len(report.broken)} "
         f"broken, {len(report.unchecked)} not checked offline")


def run(echo: Callable[[str], None] = print) -> list[str]:
    """Check the course's links, print the report, and return the broken ones."""
    report = check(course_links(), docsources.pinned())
    show(report, echo)
    return report.broken


def main(argv: list[str] | None = None) -> int:
    return 1 if run() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
