"""Chapter 07 — Static and media files: graders.

The static files are judged as production serves them: ``collectstatic`` under
the production settings into a folder of the grading session's own, then real
gunicorn (``config.wsgi``) on the tiny shop, and real HTTP requests with the
headers a browser sends. 07.1 also runs the project's own ``manage.py test``
twice: as it is, and with a template that names a static file that does not
exist (a course-owned change to a copy: the learner's files are never touched).
"""

from __future__ import annotations

import hashlib
import html.parser as html_parser
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pictures
import pytest
from grading_env import graders_env
from pictures import noisy_png
from project_runner import ProjectRunError

from course.measuring.visits import (
    YEAR,
    Fetched,
    everything_a_visit_loads,
    fetch,
    freshness,
    requests_logged,
    subresources,
)
from course.measuring.visits import url_path as static_path

STATIC_PREFIX = "/static/"
HASHED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{12})(?P<suffix>\.[^./]+)$")
MISSING_FILE = "shop/img/no-such-picture.svg"
TEST_RUN_SECONDS = 240


def _page(base: str, path: str) -> Fetched:
    page = fetch(base + path)
    assert page.status == 200, f"GET {path} under gunicorn answered {page.status}"
    return page


def _static_names(page: Fetched) -> list[tuple[str, str]]:
    """``(kind, name under STATIC_URL)`` of what the page loads from the static files."""
    found = []
    for kind, url in subresources(page):
        path = static_path(url)
        if path.startswith(STATIC_PREFIX):
            found.append((kind, path[len(STATIC_PREFIX):]))
    return found


# 07.1 ---------------------------------------------------------------------------------------

def _copy_of_project(target: Path, folder: Path) -> Path:
    copy = folder / "project"
    shutil.copytree(target, copy, ignore=shutil.ignore_patterns(
        "__pycache__", "*.sqlite3", "static_root", "media", ".course"))
    return copy


def _with_a_missing_static_file(project: Path) -> None:
    base = project / "templates" / "base.html"
    html = base.read_text(encoding="utf-8")
    assert "</head>" in html, "templates/base.html has no </head>: the grader cannot add a file"
    link = f'<link rel="preload" as="image" href="{{% static \'{MISSING_FILE}\' %}}">'
    if "{% load static" not in html and "load static " not in html:
        link = "{% load static %}" + link
    base.write_text(html.replace("</head>", link + "\n</head>", 1), encoding="utf-8")


def _shop_tests(copies: dict[str, Path], env: dict[str, str]) -> dict[str, tuple[int, str]]:
    """``manage.py test`` in each copy at once: exit code and output."""
    env = {k: v for k, v in env.items() if k != "DJANGO_SETTINGS_MODULE"}  # manage.py's own
    running = {}
    for name, copy in copies.items():
        log = (copy.parent / f"{name}-tests.log").open("w")
        running[name] = (subprocess.Popen(
            [sys.executable, "manage.py", "test", "--noinput"], cwd=copy,
            env={**env, "STATIC_ROOT": str(copy.parent / f"{name}-static")},
            stdout=log, stderr=subprocess.STDOUT), log)
    results = {}
    for name, (process, log) in running.items():
        try:
            process.wait(timeout=TEST_RUN_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        output = (copies[name].parent / f"{name}-tests.log").read_text(errors="replace")
        results[name] = (process.returncode, output)
    return results


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Destroying", "Ran ", "---"))]
    return (useful or lines or ["no output"])[-1]


def test_07_1_hashed_names_and_tests_that_catch_a_missing_file(project, target_dir, measured,
                                                               tmp_path):
    try:
        project.collect_static()
    except ProjectRunError as error:
        pytest.fail(f"collectstatic fails under the production settings: {error}")
    page = project.get("config.settings.production", "/products/")
    assert page.status == 200, f"/products/ answered {page.status} under the production settings"
    html = Fetched("http://127.0.0.1/products/", page.status, {}, page.body.encode())
    stylesheets = [name for kind, name in _static_names(html) if kind == "stylesheet"]
    assert stylesheets, "the product list links no stylesheet under /static/"
    hashed = 0
    for name in stylesheets:
        match = HASHED.match(name)
        assert match, (
            f"the page links {STATIC_PREFIX}{name}, the file's own name: a browser may keep it "
            "only briefly, or it would miss the next deploy's version. Give the collected "
            "files names with a hash of their content [hint 1]")
        collected = project.static_root / name
        assert collected.is_file(), (
            f"the page links {STATIC_PREFIX}{name}, which collectstatic did not write to "
            "STATIC_ROOT: the name comes from the manifest the same run writes [hint 2]")
        content_hash = hashlib.md5(collected.read_bytes(), usedforsecurity=False).hexdigest()
        assert content_hash[:12] == match["hash"], (
            f"{name} carries the hash {match['hash']}, but its content hashes to "
            f"{content_hash[:12]}: the name must follow the content [hint 2]")
        hashed += 1
    measured(f"{hashed} of {len(stylesheets)} stylesheets hashed", target="all", unit="")

    copies = {}
    for name in ("as-is", "missing-file"):
        (tmp_path / name).mkdir()
        copies[name] = _copy_of_project(target_dir, tmp_path / name)
    _with_a_missing_static_file(copies["missing-file"])
    env = project.env("config.settings.dev", tmp_path / "tests.sqlite3")
    results = _shop_tests(copies, env)
    code, output = results["as-is"]
    assert code == 0, (
        f"`python manage.py test` fails on the project as it is: {_last_line(output)}")
    code, output = results["missing-file"]
    assert code != 0, (
        f"with {{% static '{MISSING_FILE}' %}} added to templates/base.html (a file that does "
        "not exist), `python manage.py test` still passes: production would find out, with a "
        "500. The tests must render pages with the manifest storage, after collectstatic "
        "[hint 2]")
    assert MISSING_FILE in output, (
        "with a missing static file in base.html the tests fail, but not because of it: "
        f"{_last_line(output)}")


# 07.2 ---------------------------------------------------------------------------------------

def test_07_2_static_files_served_compressed(project, measured):
    with project.serve() as base:
        page = _page(base, "/products/")
        assets = [(kind, name) for kind, name in _static_names(page)
                  if kind in ("stylesheet", "script")]
        assert assets, "the product list names no stylesheet or script under /static/"
        raw_bytes = brotli_bytes = 0
        for _kind, name in assets:
            url = f"{base}{STATIC_PREFIX}{name}"
            plain = fetch(url)
            assert plain.status == 200, (
                f"GET {STATIC_PREFIX}{name} under gunicorn answered {plain.status}: in "
                "production nothing serves the static files, so the pages have no styles "
                "or scripts [hint 1]")
            assert plain.header("X-Content-Type-Options").lower() == "nosniff", (
                f"{STATIC_PREFIX}{name} comes without X-Content-Type-Options: nosniff: the "
                "static files are served before SecurityMiddleware adds its headers [hint 2]")
            assert not plain.header("X-Frame-Options"), (
                f"{STATIC_PREFIX}{name} carries X-Frame-Options: every static file goes "
                "through the whole middleware stack (sessions, CSRF, the shop's own) before "
                "it is served [hint 2]")
            for encoding, module in (("br", "brotli"), ("gzip", "gzip")):
                response = fetch(url, {"Accept-Encoding": encoding})
                assert response.status == 200, (
                    f"{STATIC_PREFIX}{name} with Accept-Encoding: {encoding} answered "
                    f"{response.status}")
                assert response.header("Content-Encoding").lower() == encoding, (
                    f"{STATIC_PREFIX}{name}, asked for with Accept-Encoding: {encoding}, comes "
                    f"back {response.header('Content-Encoding') or 'uncompressed'} "
                    f"({len(response.body):,} bytes): serve the {module} copies collectstatic "
                    "writes [hint 2]")
                assert response.varies_on("Accept-Encoding"), (
                    f"{STATIC_PREFIX}{name} is compressed but its response lacks Vary: "
                    "Accept-Encoding: a cache in between would hand brotli to a browser that "
                    "cannot read it [hint 2]")
                assert response.decoded() == plain.body, (
                    f"{STATIC_PREFIX}{name} as {encoding} does not decompress to the file "
                    "itself")
                if encoding == "br":
                    brotli_bytes += len(response.body)
            identity = fetch(url, {"Accept-Encoding": "identity"})
            assert not identity.header("Content-Encoding") and identity.body == plain.body, (
                f"{STATIC_PREFIX}{name} is sent compressed to a client that accepts no "
                "compression")
            raw_bytes += len(plain.body)
    share = brotli_bytes / raw_bytes
    measured(f"{brotli_bytes:,} of {raw_bytes:,} bytes ({share:.0%})", target="≤ 30%",
             unit="with brotli")
    assert share <= 0.30, (
        f"with brotli the page's stylesheets and scripts weigh {brotli_bytes:,} bytes, "
        f"{share:.0%} of their {raw_bytes:,}: at most 30% expected [hint 2]")


# 07.3 ---------------------------------------------------------------------------------------

CATALOGUE_PROBE = """
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
cache.clear()
client = Client()
client.get("/products/")
with CaptureQueriesContext(connection) as queries:
    response = client.get("/products/")
report(status=response.status_code, sql=[query["sql"] for query in queries.captured_queries])
"""


def _first_product_path(page: Fetched) -> str:
    found = re.search(r'href="(/products/[^"/?#]+/)"', page.body.decode("utf-8", "replace"))
    assert found, "the product list links no product page"
    return found[1]


def _describe(response: Fetched) -> str:
    return f"Cache-Control: {response.header('Cache-Control') or 'none'}"


def test_07_3_a_repeat_visit_asks_only_for_pages(project, measured):
    asked_again: list[str] = []
    loaded: dict[str, Fetched] = {}
    with project.serve() as base:
        first = _page(base, "/products/")
        pages = {"/products/": first}
        detail = _first_product_path(first)
        pages[detail] = _page(base, detail)
        for path, page in pages.items():
            kept = freshness(page)
            assert kept == 0, (
                f"{path} may be shown from the browser's cache for {kept:.0f} s "
                f"({_describe(page)}): after a price change, or once the server's copy is "
                "gone, a returning visitor still sees the old page. Let browsers keep it 0 s, "
                "and keep the server's cache [hint 2]")
            for _kind, response in everything_a_visit_loads(page):
                loaded.setdefault(static_path(response.url), response)
        for path, response in loaded.items():
            assert response.status == 200, f"{path} answered {response.status} [hint 1]"
            directives = response.directives()
            lifetime = freshness(response)
            name = path.split("?", 1)[0]
            hashed = bool(HASHED.match(name.rsplit("/", 1)[-1]))
            if not (hashed and "immutable" in directives and lifetime >= YEAR):
                asked_again.append(path)
                assert not (lifetime >= 3600 and not hashed), (
                    f"{path} may be kept {lifetime:.0f} s ({_describe(response)}) under a name "
                    "that does not change: after a deploy, browsers keep the old file. Link "
                    "it by its hashed name instead [hint 2]")
            etag = response.header("ETag")
            assert etag, f"{path} has no ETag: a browser cannot ask whether it changed"
            again = fetch(response.url, {"If-None-Match": etag})
            assert again.status == 304 and not again.body, (
                f"{path} asked for again with its ETag (If-None-Match) answered {again.status} "
                f"with {len(again.body):,} bytes, not 304 Not Modified")
    measured(f"{len(asked_again)} of {len(loaded)} static files asked for again",
             target="0", unit="on a repeat visit")
    assert not asked_again, (
        f"a visit an hour later asks again for {', '.join(asked_again)} "
        f"({_describe(loaded[asked_again[0]])}): a file named by hand keeps its name, so it "
        "cannot be cached for long. Name it with {% static %}, which gives it its hashed "
        "name, cached for a year as immutable [hint 2]")
    catalogue = project.probe("config.settings.production", CATALOGUE_PROBE)
    product_queries = [sql for sql in catalogue["sql"] if '"shop_product"' in sql]
    assert catalogue["status"] == 200 and not product_queries, (
        f"the second request for the product list ran {len(product_queries)} queries on the "
        "products: browsers no longer keep the page, but the server's cache no longer keeps "
        "it either. Change what browsers get above cache_page, not below it [hint 3]")


# 07.4 ---------------------------------------------------------------------------------------

VARIANTS = ("br", "br", "gzip", "gzip", "identity", "identity")


def test_07_4_a_cdn_keeps_the_static_files(project, target_dir, measured, tmp_path):
    from course.services import ServiceError, free_port, nginx

    sources = nginx.templates(target_dir, "cdn")
    assert sources, f"{nginx.TEMPLATES}/cdn.conf.template, the CDN's nginx template, is missing"
    port = free_port()
    cdn = f"http://127.0.0.1:{port}"
    log = tmp_path / "app-access.log"
    with project.serve(access_log=log, extra_env={"STATIC_URL": f"{cdn}/static/"}) as app:
        page = _page(app, "/products/")
        files = [url for kind, url in subresources(page) if kind in ("stylesheet", "script")]
        assert files, "the product list names no stylesheet or script"
        elsewhere = [url for url in files if not url.startswith(f"{cdn}/static/")]
        assert not elsewhere, (
            f"with STATIC_URL={cdn}/static/ in the environment, the product list still links "
            f"{elsewhere[0]}: the files are fetched from the app server, not the CDN. Read "
            "STATIC_URL from the environment [hint 2]")
        values = {"CDN_PORT": str(port), "APP_ADDRESS": app.removeprefix("http://"),
                  "CACHE_DIR": str(tmp_path / "cdn-cache")}
        answered = asked = 0
        try:
            with nginx.running(sources, values, tmp_path / "nginx", port, project=target_dir):
                for url in files:
                    path = static_path(url)
                    for encoding in VARIANTS:
                        response = fetch(url, {"Accept-Encoding": encoding})
                        assert response.status == 200, (
                            f"{path} through the CDN answered {response.status}")
                        expected = "" if encoding == "identity" else encoding
                        got = response.header("Content-Encoding").lower()
                        assert got == expected, (
                            f"{path} through the CDN, asked for with Accept-Encoding: "
                            f"{encoding}, came back {got or 'uncompressed'}: " + (
                                "the CDN hands one stored copy to every client, whatever it "
                                "accepts; keep one copy per value of the Vary header [hint 2]"
                                if got else "the app never sees what the browser accepts, "
                                "so it sends the plain file; pass Accept-Encoding on [hint 2]"))
                    asked += len(VARIANTS)
                    reached = requests_logged(log, path)
                    answered += reached
                    assert reached <= 3, (
                        f"the app server answered {reached} of the {len(VARIANTS)} requests "
                        f"for {path} made through the CDN (two each as brotli, gzip and "
                        "plain): nothing is kept there, every request goes through to the app "
                        "[hint 2]")
        except ServiceError as error:
            pytest.fail(f"{error} [hint 2]")
    measured(f"{answered} of {asked} requests reached the app server", target="one per "
             "file and encoding", unit="")


# 07.5 ---------------------------------------------------------------------------------------

def _object_store() -> tuple[str, str]:
    """The object store's address and the graders' bucket, as the project reads them."""


    values = graders_env()
    endpoint, bucket = values.get("AWS_S3_ENDPOINT_URL"), values.get("AWS_STORAGE_BUCKET_NAME")
    if not endpoint or not bucket:
        pytest.fail("the object store is not running: `python3 -m course services up objectstore`")
    return endpoint, bucket


def _admin(django_user_model):
    from django.test import Client

    admin = django_user_model.objects.create_superuser("grader-admin", "admin@example.com",
                                                       "grader-password")
    browser = Client()
    browser.force_login(admin)
    return browser


def _upload(browser, product, name: str, content: bytes) -> None:
    from admin_forms import upload_through_the_admin
    from django.core.files.uploadedfile import SimpleUploadedFile

    change_url = f"/admin/shop/product/{product.pk}/change/"
    response = upload_through_the_admin(browser, change_url, "product_form", "image",
                                        SimpleUploadedFile(name, content, "image/png"))
    assert response.status_code == 302, (
        f"saving a picture in the admin answered {response.status_code}, not a redirect")
    product.refresh_from_db()
    assert product.image, "the admin saved the product without its picture"


def _keys(endpoint: str, bucket: str) -> set[str]:
    from course.services.plugins.objectstore import client

    found: set[str] = set()
    for page in client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket):
        found.update(item["Key"] for item in page.get("Contents", []))
    return found


def _picture_address(browser, product) -> str:
    found = pictures.shown(browser.get(product.get_absolute_url()).content.decode(),
                           product.image.name)
    assert found, f"the product page shows no picture named like {product.image.name}"
    return found[0]


def test_07_5_pictures_in_the_object_store(shop, django_user_model, measured):
    import urllib.request
    import uuid

    from django.conf import settings
    from shop.models import Product

    shop("tiny")
    endpoint, bucket = _object_store()
    browser = _admin(django_user_model)
    first, second = Product.objects.order_by("pk")[:2]
    name = f"grader-{uuid.uuid4().hex[:10]}.png"
    pictures = {first.pk: noisy_png(1), second.pk: noisy_png(2)}
    _upload(browser, first, name, pictures[first.pk])
    stored = first.image.name
    keys = _keys(endpoint, bucket)
    assert any(key == stored or key.endswith("/" + stored) for key in keys), (
        f"the picture saved as {stored} is not in the object store's bucket {bucket} "
        "(AWS_STORAGE_BUCKET_NAME in the environment): uploads still go to the app server's "
        "disk, or to another bucket [hint 1]")
    on_disk = [path for path in Path(settings.MEDIA_ROOT).rglob(Path(stored).name)
               ] if Path(settings.MEDIA_ROOT).is_dir() else []
    assert not on_disk, f"a copy of the picture is on the app server's disk: {on_disk[0]}"

    address = _picture_address(browser, first)
    assert address.startswith(endpoint), (
        f"the product page links the picture at {address}, not at the object store "
        f"({endpoint}) [hint 2]")
    time.sleep(1.05)  # a signed URL carries the second it was made: the next render differs
    again = _picture_address(browser, first)
    assert again == address, (
        f"the picture's address changes from one render to the next ({address} then {again}):"
        " a signed, expiring URL; no browser or CDN can keep it [hint 2]")
    with urllib.request.urlopen(address, timeout=10) as response:
        body, cache_control = response.read(), response.headers.get("Cache-Control", "")
    assert body == pictures[first.pk], "the picture at its address is not the one uploaded"
    kept = re.search(r"max-age=(\d+)", cache_control)
    seconds = int(kept[1]) if kept and "no-cache" not in cache_control else 0
    measured(f"kept {seconds:,} s by browsers", target="≥ 86,400 s", unit="")
    assert seconds >= 24 * 3600, (
        f"the object store sends the picture with Cache-Control: {cache_control or 'none'}: "
        "browsers ask for it again on every visit. Store it with a long Cache-Control "
        "[hint 2]")

    _upload(browser, second, name, pictures[second.pk])
    assert second.image.name != first.image.name, (
        f"a second picture uploaded as {name} was stored under the same name as the first "
        f"({first.image.name}), replacing it: browsers that kept the first show it for the "
        "second product, and the first product now shows the second picture [hint 2]")
    with urllib.request.urlopen(address, timeout=10) as response:
        assert response.read() == pictures[first.pk], (
            "after a second upload of the same file name, the first product's picture "
            "changed: the second replaced it in the bucket [hint 2]")


# 07.6 ---------------------------------------------------------------------------------------

THUMBNAIL_MOST = 320  # pixels, the longer side
HOLD_SECONDS = 1.5  # the admin's transaction stays open this long after the picture is saved


class _Tags(html_parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append({name: value or "" for name, value in attrs})


def _images(page: str) -> list[dict[str, str]]:
    tags = _Tags()
    tags.feed(page)
    return tags.images


class _ObjectStoreCalls:
    """Counts the S3 API calls botocore makes in this process (and lets them through)."""

    def __init__(self, monkeypatch) -> None:
        from botocore.client import BaseClient

        self.calls: list[str] = []
        original = BaseClient._make_api_call

        def counted(client, operation, params):
            self.calls.append(operation)
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", counted)


@pytest.mark.django_db(transaction=True)
def test_07_6_thumbnails_made_by_a_worker(shop, django_user_model, workers, measured,
                                          monkeypatch):
    import io
    import urllib.request
    import uuid

    from background import _wait
    from django.db import transaction
    from PIL import Image
    from shop.models import Product

    shop("tiny")
    _object_store()
    worker = workers.start()  # waiting already, as in production: a task sent early runs early
    browser = _admin(django_user_model)
    product = Product.objects.order_by("pk").first()
    picture = noisy_png(6, (1600, 1000))
    started = time.monotonic()
    with transaction.atomic():  # the admin's save commits when this block does
        _upload(browser, product, f"grader-{uuid.uuid4().hex[:10]}.png", picture)
        took_ms = (time.monotonic() - started) * 1000
        product.refresh_from_db()
        made_in_the_request = bool(product.thumbnail)
        time.sleep(HOLD_SECONDS)
        # The worker takes a message at once: its log says whether one came before the commit.
        sent_early = " received" in worker.log()
    assert not made_in_the_request, (
        f"the thumbnail was made in the admin's request, which answered after {took_ms:.0f} ms:"
        " send a task to a worker instead [hint 2]")

    def made():
        return Product.objects.filter(pk=product.pk).exclude(thumbnail="").first()

    done = _wait(made, 30, interval=0.2)
    assert done is not None, (
        ("no worker made the thumbnail within 30 s: the task was sent while the admin's "
         "transaction was still open, so the worker read the product before its new picture "
         "was saved. Send it once the transaction commits [hint 2]") if sent_early else
        "no worker made the thumbnail within 30 s of the admin's save: the admin sends no task "
        "a worker runs, with the product's id [hint 2]")
    with urllib.request.urlopen(done.thumbnail.url, timeout=10) as response:
        with Image.open(io.BytesIO(response.read())) as thumbnail:
            size = thumbnail.size
    width, height = size
    assert max(size) <= THUMBNAIL_MOST and abs(width / height - 1.6) < 0.02, (
        f"the thumbnail of a 1600×1000 picture is {width}×{height}: at most "
        f"{THUMBNAIL_MOST} px on its longer side, in the picture's shape")

    calls = _ObjectStoreCalls(monkeypatch)
    page = browser.get("/products/").content.decode()
    stem = Path(done.thumbnail.name).stem
    shown = [tag for tag in _images(page) if stem in tag.get("src", "")]
    assert shown, f"the product list shows no picture of {done.name} (thumbnail {stem})"
    tag = shown[0]
    measured(f"{len(calls.calls)} requests to the object store per render, admin answered in "
             f"{took_ms:.0f} ms", target="0, and the thumbnail made by a worker", unit="")
    assert not calls.calls, (
        f"rendering the product list made {len(calls.calls)} requests to the object store "
        f"({', '.join(sorted(set(calls.calls)))}): reading the thumbnail's size from the file "
        "downloads it on every render; keep the size in the database (the field's width_field "
        "and height_field) [hint 2]")
    given = (tag.get("width"), tag.get("height"))
    assert given == (str(width), str(height)), (
        f"the product list's <img> says width={given[0]!r} height={given[1]!r}, but the "
        f"thumbnail is {width}×{height}: without its real size the browser cannot keep room "
        "for it, and the page jumps as it arrives [hint 2]")
    assert tag.get("loading") == "lazy", (
        f"the product list's <img> has loading={tag.get('loading')!r}: every picture loads "
        "with the page, even those far below what the screen shows [hint 2]")
