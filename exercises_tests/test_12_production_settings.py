"""Chapter 12: production settings and the common mistakes. Each grader starts the project
as a platform does (the production settings, only what the environment gives, no env file)
and reads what really happens: whether it starts, what its last line says, what a visitor
sees when a page fails."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from grading_env import graders_env
from procfile_server import procfile_server
from project_runner import ProjectRunError

from course.measuring.production_settings import (
    DATABASE_NAMES,
    MAKE_STAFF,
    REQUIRED,
    SHOP_PAGE,
    STAFF_EMAIL,
    UNREACHABLE_DATABASE,
    ask,
    error_page_kind,
)
from course.services.mailserver import text_of

SETTINGS = "config.settings.production"
TIMED = "timed_settings"  # the production settings with /course-error/, a view that fails

# 12.1 ----------------------------------------------------------------------------------------

WEAK_KEYS = {
    "a short word": "change-me",
    "the development key written in base.py": "django-insecure-shop-development-key-change-me",
    "60 times the same letter": "x" * 60,
}
GIVEN_HOSTS = "shop.example.com,www.shop.example.com,testserver"
START_WITHIN = 40  # seconds for the Procfile's server to give up


def _platform_env(project, tmp_path: Path) -> dict[str, str]:
    """What a platform gives a production process, and nothing else: every required variable
    in the environment, and an env file that is empty (no .course/env to fall back on)."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = project.env(SETTINGS, project.seeded_database())
    broker = graders_env().get("CELERY_BROKER_URL") or os.environ.get("CELERY_BROKER_URL")
    env.update(COURSE_ENV_FILE=str(empty), DJANGO_ALLOWED_HOSTS=GIVEN_HOSTS,
               REDIS_URL=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15",
               CELERY_BROKER_URL=broker or "redis://127.0.0.1:6379/13")
    for name in ("DJANGO_DEBUG", "DATABASE_URL", "COURSE_DB"):
        env.pop(name, None)
    return env


def _without(env: dict[str, str], name: str, blank: bool = False) -> dict[str, str]:
    names = DATABASE_NAMES if name == "DATABASE_URL" else (name,)
    env = {key: value for key, value in env.items() if key not in names}
    if blank:
        env[name] = "  "
    return env


def _manage(project, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run([sys.executable, "manage.py", *args], cwd=project.target, env=env,
                          capture_output=True, text=True, timeout=120)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(nothing)"


# Why starting anyway is wrong, by the kind of case: (what the start means, hint)
STARTED = {
    "missing": ("a server would start on a default nobody chose, and nothing would say so. "
                "Refuse to start, with one line naming the variable", 1),
    "blank": ("a variable set to nothing is as missing as one not set (a platform's empty "
              "field writes NAME=)", 3),
    "weak": ("a key anybody can guess signs sessions and password resets that anybody can "
             "forge: refuse the ones Django's deploy check calls weak", 3),
}


def _refusal(completed: subprocess.CompletedProcess[str], name: str, case: str,
             kind: str) -> None:
    """``completed`` must have failed, its last line naming ``name`` and no other required
    variable."""
    last = _last_line(completed.stderr or completed.stdout)
    if completed.returncode == 0:
        why, hint = STARTED[kind]
        pytest.fail(f"with {case}, the production settings started (manage.py check passed): "
                    f"{why} [hint {hint}]", pytrace=False)
    others = [other for other in REQUIRED if other != name and other in last]
    if name not in last or others:
        pytest.fail(
            f"with {case}, the start failed, but its last line, the one a person on call reads "
            f"first, was {last[:200]!r}: it must name {name}"
            + (f", and only it ({', '.join(others)} were given)" if others else "")
            + " [hint 2]", pytrace=False)


def _procfile_refuses(project, env: dict[str, str], name: str) -> None:
    """The Procfile's web line, started with ``env``, must stop by itself, having said
    ``name``; not serve, and not restart its workers for ever."""
    import signal

    from course import services
    from course.measuring import procfile

    port = services.free_port()
    server = subprocess.Popen(
        ["/bin/sh", "-c", procfile.command(project.target, "web")], cwd=project.target,
        env=procfile.environment(env, port=port, workers=1), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = server.communicate(timeout=START_WITHIN)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        output, _ = server.communicate()
        pytest.fail(
            f"without {name}, the Procfile's server was still running after {START_WITHIN} s "
            f"(serving, or starting workers that fail, again and again); its last line: "
            f"{_last_line(output)[:160]!r} [hint 2]", pytrace=False)
    finally:
        try:
            os.killpg(server.pid, signal.SIGKILL)  # anything it left behind
        except ProcessLookupError:
            pass
    if name not in output:
        pytest.fail(
            f"without {name}, the Procfile's server stopped (exit {server.returncode}) "
            f"without naming it; its last line: {_last_line(output)[:200]!r} [hint 2]",
            pytrace=False)


SETTINGS_PROBE = """
from django.conf import settings
report(secret_key=settings.SECRET_KEY, allowed_hosts=list(settings.ALLOWED_HOSTS),
       database=str(settings.DATABASES["default"]["NAME"]),
       cache=str(settings.CACHES["default"].get("LOCATION")),
       broker=getattr(settings, "CELERY_BROKER_URL", ""), debug=settings.DEBUG)
"""


def test_12_1_refuses_to_start_wrong(project, tmp_path, measured):
    full = _platform_env(project, tmp_path)
    # Given everything, the settings start, and use exactly what they were given.
    given = _manage(project, full, "check")
    assert given.returncode == 0, (
        f"with every variable given, the database named as the course's machine names it "
        f"(COURSE_SQLITE_PATH, or COURSE_DB=postgres), the production settings did not "
        f"start: {_last_line(given.stderr)[:200]}. base.py reads DATABASE_URL first, and the "
        "course's own names after it: refuse only when none of them is there [hint 2]")
    try:
        seen = project.probe(SETTINGS, SETTINGS_PROBE, **{
            key: full.get(key) for key in (*REQUIRED, "COURSE_ENV_FILE", "COURSE_DB")})
    except ProjectRunError as error:
        pytest.fail(f"with every variable given, {error}", pytrace=False)
    expected = {"secret_key": full["DJANGO_SECRET_KEY"], "allowed_hosts": GIVEN_HOSTS.split(","),
                "cache": full["REDIS_URL"], "broker": full["CELERY_BROKER_URL"]}
    wrong = {key: seen[key] for key, value in expected.items() if seen[key] != value}
    assert not wrong, (
        f"given every variable, the settings did not use them all as given: {wrong} instead "
        f"of {({key: expected[key] for key in wrong})}")

    cases = [(name, _without(full, name), f"{name} not set", "missing") for name in REQUIRED]
    cases += [(name, _without(full, name, blank=True), f"{name} set but blank", "blank")
              for name in ("DJANGO_ALLOWED_HOSTS", "REDIS_URL")]
    cases += [("DJANGO_SECRET_KEY", {**full, "DJANGO_SECRET_KEY": key},
               f"DJANGO_SECRET_KEY set to {what} ({key[:24]!r})", "weak")
              for what, key in WEAK_KEYS.items()]
    with ThreadPoolExecutor(max_workers=4) as pool:
        started = list(pool.map(lambda case: _manage(project, case[1], "check"), cases))
    for (name, _, case, kind), completed in zip(cases, started, strict=True):
        _refusal(completed, name, case, kind)

    _procfile_refuses(project, _without(full, "DJANGO_SECRET_KEY"), "DJANGO_SECRET_KEY")
    measured(f"{len(cases)} wrong starts refused, each naming its variable",
             target="every one", unit="")


# 12.2 ----------------------------------------------------------------------------------------

# What platforms write for "off", and for "on": read as text, each must leave DEBUG off.
OFF = ("", "false", "False", "0", "no", "off")
ON = ("1", "true")
DEBUG_SIGNS = {  # what Django's debug pages show, that production must never show
    "a traceback": "Traceback",
    "the exception's message": "course error debug-",
    "the settings": "ROOT_URLCONF",
    "the URL patterns": "Using the URLconf",
}

FAILING_PAGES = """
from django.conf import settings
from django.test import Client
client = Client(raise_request_exception=False)
failed = client.get("/course-error/?label=debug-" + %(label)r)
missing = client.get("/course-grading/no-such-page/")
report(debug=settings.DEBUG, failed_status=failed.status_code,
       failed=failed.content.decode("utf-8", "replace"), missing_status=missing.status_code,
       missing=missing.content.decode("utf-8", "replace"))
"""


def _shown(page: str) -> list[str]:
    return [what for what, sign in DEBUG_SIGNS.items() if sign in page]


def _pages_with(project, value: str | None) -> dict | str:
    """What a visitor sees of a failing view and an unknown address with DJANGO_DEBUG set to
    ``value`` (None: not set), or the last line of a refusal to start."""
    try:
        return project.probe(TIMED, FAILING_PAGES % {"label": value or "unset"},
                             DJANGO_DEBUG=value)
    except ProjectRunError as refused:
        return str(refused)


def test_12_2_never_debugs_in_production(project, measured):
    values: list[str | None] = [None, *OFF, *ON]
    with ThreadPoolExecutor(max_workers=4) as pool:
        seen = dict(zip(values, pool.map(lambda value: _pages_with(project, value), values),
                        strict=True))
    for value in [None, *OFF]:
        written = "not set" if value is None else f"DJANGO_DEBUG={value!r}"
        pages = seen[value]
        if isinstance(pages, str):
            pytest.fail(
                f"with {written}, as platforms write \"off\", the production settings did not "
                f"start: {pages[:200]}. A value that means off must start the shop, with "
                "DEBUG off [hint 2]", pytrace=False)
        shown = _shown(pages["failed"]) + _shown(pages["missing"])
        if pages["debug"] or shown:
            pytest.fail(
                f"with {written}, DEBUG was {pages['debug']}: a view that fails showed the "
                f"visitor {', '.join(sorted(set(shown))) or 'the debug page'} (status "
                f"{pages['failed_status']}). Read as text, every value but \"\" is true to "
                "bool() [hint 1]", pytrace=False)
        assert pages["failed_status"] == 500 and pages["missing_status"] == 404, (
            f"with {written}: a failing view answered {pages['failed_status']} and an "
            f"unknown address {pages['missing_status']}, not 500 and 404")
    for value in ON:
        pages = seen[value]
        if isinstance(pages, dict) and (pages["debug"] or _shown(pages["failed"])):
            pytest.fail(
                f"with DJANGO_DEBUG={value!r}, the production settings debug: a failing view "
                f"showed the visitor {', '.join(_shown(pages['failed'])) or 'the debug page'}."
                " Anyone who can change one variable on the platform can then show every "
                "visitor the settings: refuse it, or ignore it [hint 2]", pytrace=False)

    # And through a real server, as a visitor meets it.
    with procfile_server(project, TIMED, 1, "/products/",
                         extra_env={"DJANGO_DEBUG": "false"}) as (base, _):
        try:
            with urllib.request.urlopen(f"{base}/course-error/?label=debug-served",
                                        timeout=30) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
    page = body.decode("utf-8", "replace")
    assert status == 500 and not _shown(page), (
        f"served by the Procfile's server with DJANGO_DEBUG='false', a failing view answered "
        f"{status} and showed {', '.join(_shown(page)) or 'no debug page'} [hint 1]")
    refused = sum(isinstance(seen[value], str) for value in ON)
    measured(f"DEBUG off for {len(OFF) + 1} ways of writing off; "
             f"{'refused' if refused else 'ignored'} for on",
             target="no traceback, ever", unit="")


# 12.3 ----------------------------------------------------------------------------------------

ADMIN_ADDRESS = "shop-team@shop.example"  # the production settings' ADMINS (DJANGO_ADMIN_EMAIL)
MAIL_WITHIN = 10.0  # seconds


def _own_page(page: str) -> bool:
    return all(sign in page for sign in SHOP_PAGE)


def _mails_about(mail_server, label: str) -> list:
    deadline = time.monotonic() + MAIL_WITHIN
    while True:
        found = [message for message in mail_server.messages(to=ADMIN_ADDRESS)
                 if label in text_of(message)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


ERROR_PAGE_QUERIES = """
from django.core.cache import cache
from django.db import connection
from django.http import Http404
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver

cache.clear()  # a sidebar kept in the cache would hide its query
request = RequestFactory().get("/course-grading/no-such-page/")
handlers = {"404": lambda view: view(request, exception=Http404("no such page")),
            "500": lambda view: view(request)}
ran = {}
for status, call in handlers.items():
    with CaptureQueriesContext(connection) as captured:
        call(get_resolver().resolve_error_handler(int(status)))
    ran[status] = [query["sql"][:90] for query in captured.captured_queries]
report(**ran)
"""


def test_12_3_error_pages_that_cannot_fail(project, mail_server, measured):
    import uuid

    label = f"mail-{uuid.uuid4().hex[:10]}"
    smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail_server.port),
            "DJANGO_ADMIN_EMAIL": ADMIN_ADDRESS}
    with procfile_server(project, TIMED, 1, "/healthz", extra_env=smtp) as (base, _):
        failed = ask(base, f"/course-error/?label={label}")
        missing = ask(base, "/course-grading/no-such-page/")
        time.sleep(0.5)  # a second mail, if the error sends two, is on its way
        mails = _mails_about(mail_server, label)
    for (status, _, _, page), what, expected in ((failed, "a view that fails", 500),
                                                 (missing, "an unknown address", 404)):
        assert status == expected, f"{what} answered {status}, not {expected}"
        assert _own_page(page), (
            f"{what} answered {status} with {error_page_kind(page)}; a visitor should get the "
            "shop's own page: its name, a sentence, a way back to the products [hint 2]")

    ran = project.probe(TIMED, ERROR_PAGE_QUERIES)
    for status, queries in ran.items():
        assert not queries, (
            f"rendering the {status} page ran {len(queries)} queries (the first: "
            f"{queries[0]!r}): an error page is shown when something failed, often the "
            "database, and a query there fails in turn. No query, no cache, no template tag "
            "or context processor that reaches for them [hint 2]")

    dead_redis = f"redis://127.0.0.1:{_closed_port()}/0"
    with procfile_server(project, TIMED, 1, "/healthz", extra_env={
            **smtp, "COURSE_SQLITE_PATH": UNREACHABLE_DATABASE, "REDIS_URL": dead_redis}
            ) as (base, _):
        outage = {path: ask(base, path) for path in
                  ("/products/", "/course-grading/no-such-page/", f"/course-error/?label=o{label}")}
    for path, (status, _, _, page) in outage.items():
        assert status in (404, 500, 503) and _own_page(page), (
            f"with the database and Redis unreachable, {path} answered {status} with "
            f"{error_page_kind(page)}. An error page is shown when something failed, often the "
            "database or the cache: it must need neither (no query, no cache, no template tag "
            "or context processor that reaches for them) [hint 1]")

    request_id = failed[1].get("x-request-id", "")
    assert mails, (
        f"a view failed with ADMINS set and DEBUG off, and no mail reached {ADMIN_ADDRESS} "
        f"within {MAIL_WITHIN:g} s: keep the \"django\" logger's mail to ADMINS [hint 3]")
    assert len(mails) == 1, (
        f"one failing request sent {len(mails)} mails to ADMINS: two handlers mail the same "
        "error (Django's own mail_admins and yours, say). Name the \"django\" logger in "
        "LOGGING with your handler only [hint 3]")
    subject = " ".join(str(mails[0]["Subject"]).split())
    assert request_id and subject.rstrip(" ]").endswith(request_id), (
        f"the mail's subject is {subject!r}: it says which page failed, not which request. "
        f"End it with the request's id ({request_id or 'X-Request-ID, from 10.2'}), the key "
        "to the request's log lines, trace and tracker event [hint 3]")
    measured(f"shop's pages with everything up and down; 1 mail, subject ending "
             f"{subject[-40:]!r}", target="the shop's page, one mail with the request id",
             unit="")


def _closed_port() -> int:
    """A port where nothing listens (taken free, then let go)."""
    from course import services

    return services.free_port()


# 12.4 ----------------------------------------------------------------------------------------

HSTS_AT_LEAST = 180 * 24 * 3600  # seconds: what browsers and scanners call a real policy
METRICS_TOKEN = "grading-metrics-token"
FROM_THE_BALANCER = {"X-Forwarded-Proto": "https"}  # it ended TLS for this request


def _hsts_seconds(headers: dict[str, str]) -> int:
    import re

    found = re.search(r"max-age=(\d+)", headers.get("strict-transport-security", ""))
    return int(found[1]) if found else 0


def _secure_cookie(cookies: list[str], name: str) -> bool | None:
    """Whether the cookie ``name`` was sent Secure (None: not sent)."""
    for cookie in cookies:
        if cookie.startswith(f"{name}="):
            return any(part.strip().lower() == "secure" for part in cookie.split(";"))
    return None


def test_12_4_https_only_behind_the_balancer(project, tmp_path, measured):
    platform = _platform_env(project, tmp_path)
    platform.pop("DJANGO_HTTPS", None)  # a platform says nothing: HTTPS
    checked = _manage(project, platform, "check", "--deploy", "--fail-level", "WARNING")
    if checked.returncode != 0:
        import re

        found = sorted(set(re.findall(r"security\.[WE]\d+", checked.stderr + checked.stdout)))
        pytest.fail(
            f"manage.py check --deploy --fail-level WARNING failed under the production "
            f"settings with what a platform gives: {', '.join(found) or _last_line(checked.stderr)}"
            " [hint 1]", pytrace=False)

    behind = {"TRUSTED_PROXIES": "127.0.0.1", "METRICS_TOKEN": METRICS_TOKEN,
              "DJANGO_HTTPS": None}
    with procfile_server(project, SETTINGS, 1, "/healthz", extra_env=behind) as (base, _):
        plain = ask(base, "/products/")
        secure = ask(base, "/products/", FROM_THE_BALANCER)
        sign_in = ask(base, "/admin/login/", FROM_THE_BALANCER)
        health = ask(base, "/healthz")
        metrics = ask(base, "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    location = plain[1].get("location", "")
    assert plain[0] in (301, 308) and location.startswith("https://") \
        and location.endswith("/products/"), (
        f"a request the balancer received over plain http answered {plain[0]}"
        + (f" to {location}" if location else "") + ": a visitor who typed the address "
        "without https:// stays on http. Redirect it to https (SECURE_SSL_REDIRECT) [hint 2]")
    assert secure[0] == 200, (
        f"a request the balancer received over https answered {secure[0]} "
        f"{secure[1].get('location', '')}: Django must take X-Forwarded-Proto: https from its "
        "proxy for https (11.3's SECURE_PROXY_SSL_HEADER), or every redirect to https is "
        "redirected again [hint 1]")
    seconds = _hsts_seconds(secure[1])
    assert seconds >= HSTS_AT_LEAST, (
        f"an https answer carried Strict-Transport-Security max-age={seconds}: a browser "
        f"keeps using https without asking only for that long; at least "
        f"{HSTS_AT_LEAST // 86400} days (SECURE_HSTS_SECONDS) [hint 2]")
    assert _secure_cookie(sign_in[2], "csrftoken") is True, (
        f"the admin's sign-in page over https set {sign_in[2] or 'no cookie'}: the CSRF "
        "cookie must be Secure (CSRF_COOKIE_SECURE), and the session's too [hint 2]")
    for name, (status, *_) in (("the health check /healthz", health),
                                 ("Prometheus's scrape of /metrics", metrics)):
        assert status == 200, (
            f"{name}, over plain http from inside the network, answered {status}: the "
            "balancer and Prometheus do not follow a redirect to https. Keep them on http "
            "(SECURE_REDIRECT_EXEMPT) [hint 2]")

    with procfile_server(project, SETTINGS, 1, "/healthz",
                         extra_env={"DJANGO_HTTPS": "off"}) as (base, _):
        local = ask(base, "/products/")
        local_sign_in = ask(base, "/admin/login/")
    assert local[0] == 200 and not _hsts_seconds(local[1]) \
        and _secure_cookie(local_sign_in[2], "csrftoken") is False, (
        f"with DJANGO_HTTPS=off (a server on 127.0.0.1 with nothing in front that ends TLS, as "
        f"the course's own are), a plain request answered {local[0]} "
        f"{local[1].get('location', '')}, HSTS {_hsts_seconds(local[1])} s, and a CSRF cookie "
        f"{'Secure' if _secure_cookie(local_sign_in[2], 'csrftoken') else 'not Secure'}: "
        "every page of every chapter's grader would be redirected to an https:// address "
        "that does not exist. Make the HTTPS settings follow DJANGO_HTTPS [hint 3]")
    measured(f"check --deploy clean; http → {plain[0]}, HSTS {seconds // 86400} days, "
             "Secure cookies", target="301 to https, HSTS ≥ 180 days", unit="")


# 12.5 ----------------------------------------------------------------------------------------

FORGED_HOST = "shop.attacker.example"
RESET_LINK = r"(https?://[^\s/]+)(/reset/\S+)"


def _reset_links(mail_server, since: int) -> list[tuple[str, str]]:
    """The reset links (site, path) in the mails to the staff member after the first
    ``since``."""
    import re

    deadline = time.monotonic() + MAIL_WITHIN
    while True:
        mails = mail_server.messages(to=STAFF_EMAIL)[since:]
        if mails or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return [found for mail in mails for found in re.findall(RESET_LINK, text_of(mail))]


def test_12_5_links_from_the_shop_address(project, mail_server, measured):
    import uuid

    from course.measuring.visitor import Visitor, csrf_token

    site_host = f"shop-{uuid.uuid4().hex[:8]}.example"  # a name no code can know in advance
    site = f"https://{site_host}"
    database = project.seeded_database()
    project.run(SETTINGS, ["-c", MAKE_STAFF], database)
    env = {"COURSE_SQLITE_PATH": str(database), "SMTP_HOST": "127.0.0.1",
           "SMTP_PORT": str(mail_server.port), "SHOP_SITE_URL": site,
           "DJANGO_ALLOWED_HOSTS": f"{site_host},127.0.0.1,localhost"}
    with procfile_server(project, SETTINGS, 1, "/healthz", extra_env=env) as (base, _):
        asked = {}
        for case, headers in (("through an instance's own address", {}),
                              ("with a forged X-Forwarded-Host",
                               {"X-Forwarded-Host": FORGED_HOST})):
            before = len(mail_server.messages(to=STAFF_EMAIL))
            visitor = Visitor(headers)
            form = visitor.answer(f"{base}/admin/password_reset/")
            token = csrf_token(form.body)
            if form.status == 400:
                asked[case] = (400, [])
                continue
            assert form.status == 200 and token, (
                f"the password-reset page answered {form.status}"
                + ("" if token else " with no form"))
            sent = visitor.answer(f"{base}/admin/password_reset/",
                                  {"csrfmiddlewaretoken": token, "email": STAFF_EMAIL})
            asked[case] = (sent.status, _reset_links(mail_server, before))
        before = len(mail_server.messages(to=STAFF_EMAIL))
        forged = ask(base, "/admin/password_reset/", {"Host": FORGED_HOST})[0]
    assert forged == 400, (
        f"a request with Host: {FORGED_HOST}, a name not in ALLOWED_HOSTS, answered {forged}: "
        "any page that builds a link from the Host would send it to the attacker's site. "
        "ALLOWED_HOSTS lists the shop's names, never \"*\" [hint 1]")
    assert len(mail_server.messages(to=STAFF_EMAIL)) == before, (
        "a request with a forged Host sent a mail")
    status, links = asked["through an instance's own address"]
    assert links, (
        f"a password reset asked for {STAFF_EMAIL} answered {status} and mailed no reset "
        "link: keep the admin's \"Forgot your password?\" working")
    for case, (_, found) in asked.items():
        wrong = [f"{where}{path[:20]}…" for where, path in found if where != site]
        assert not wrong, (
            f"a password reset asked {case} mailed a link to {', '.join(wrong)}, not to the "
            f"shop's own address {site} (SHOP_SITE_URL): the link is built from the request"
            + (", over http" if any(w.startswith("http://") for w in wrong) else "")
            + ". Build it from SITE_URL: PasswordResetForm.save()'s domain_override and use_https "
            "[hint 2]")
    measured(f"reset links on {site}; forged Host {forged}", target="SHOP_SITE_URL, 400",
             unit="")
