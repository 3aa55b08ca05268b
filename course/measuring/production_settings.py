"""What a project's production settings do when a platform starts them (chapter 12): with a
variable missing, blank or weak, does the process start, and what does its last line say;
and what ``DEBUG = True`` costs a process that runs many statements outside a request
(a worker, a command): the statements it keeps, the memory they hold, the time per
statement, against a web process, where each request starts with an empty list."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from course import envfile
from course.project import commands

PRODUCTION = "config.settings.production"
REQUIRED = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL",
            "CELERY_BROKER_URL")
# The other ways the shop's base settings name a database on the course's machine.
DATABASE_NAMES = ("DATABASE_URL", "COURSE_SQLITE_PATH", "COURSE_DB")
MARK = "@@course-production@@"

LOADED = f"""
import json, django
django.setup()
from django.conf import settings
print({MARK!r} + json.dumps({{"debug": settings.DEBUG}}))
"""


def platform_env(target: Path, folder: Path) -> dict[str, str]:
    """What a platform gives ``target``'s production processes, and nothing else: a strong
    secret key, the hosts, a database, Redis and the broker (the course's own), and an empty
    env file, so nothing comes from ``.course/env``."""
    empty = folder / "empty.env"
    empty.write_text("")
    services = envfile.read()
    env = commands.manage_env(
        target, DJANGO_SETTINGS_MODULE=PRODUCTION, COURSE_ENV_FILE=str(empty),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_ALLOWED_HOSTS="shop.example.com",
        COURSE_SQLITE_PATH=str(folder / "shop.sqlite3"),
        REDIS_URL=services.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        CELERY_BROKER_URL=services.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/1"))
    for name in ("DATABASE_URL", "COURSE_DB", "DJANGO_DEBUG"):
        env.pop(name, None)
    return env


def wrong_starts() -> dict[str, dict[str, str | None]]:
    """The starts a platform can get wrong, each as the variables it changes (None: not
    set): every required variable missing in turn, a blank one, a weak key, a debug switch
    written as platforms write "off"."""
    cases: dict[str, dict[str, str | None]] = {"everything given": {}}
    for name in REQUIRED:
        names = DATABASE_NAMES if name == "DATABASE_URL" else (name,)
        cases[f"{name} missing"] = dict.fromkeys(names)
    cases["REDIS_URL blank"] = {"REDIS_URL": ""}
    cases["DJANGO_SECRET_KEY=change-me"] = {"DJANGO_SECRET_KEY": "change-me"}
    cases["DJANGO_DEBUG=false"] = {"DJANGO_DEBUG": "false"}
    return cases


def _start(target: Path, env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run([sys.executable, "-c", LOADED], cwd=target, env=env,
                               capture_output=True, text=True, timeout=120)
    found = [line for line in completed.stdout.splitlines() if line.startswith(MARK)]
    if completed.returncode == 0 and found:
        return {"starts": "yes", **json.loads(found[-1][len(MARK):])}
    lines = [line.strip() for line in completed.stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else f"exit {completed.returncode}"
    return {"starts": "no", "debug": None,
            "says": last.removeprefix("django.core.exceptions.")[:110]}


def starts(states: dict[str, Path]) -> list[dict[str, Any]]:
    """For each wrong start (:func:`wrong_starts`), whether each state's production settings
    load, with DEBUG on or off, or the last line of the refusal: a row per case, a column
    pair per state."""
    cases = wrong_starts()
    print(f"  {len(cases)} starts × {len(states)} projects …", flush=True)
    with tempfile.TemporaryDirectory(prefix="course-starts-") as scratch:
        jobs = []
        for name, target in states.items():
            base = platform_env(target, Path(scratch))
            for case, changes in cases.items():
                env = {key: value for key, value in {**base, **changes}.items()
                       if value is not None}
                jobs.append((name, case, target, env))
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda job: _start(job[2], job[3]), jobs))
    rows: dict[str, dict[str, Any]] = {case: {"case": case} for case in cases}
    for (name, case, _, _), result in zip(jobs, results, strict=True):
        shown = ("starts, DEBUG on" if result["debug"] else "starts") \
            if result["starts"] == "yes" else f"refused: {result['says']}"
        rows[case][name] = shown
    return list(rows.values())


def refused_counts(rows: list[dict[str, Any]], states: list[str]) -> list[dict[str, Any]]:
    """Per state, how many of the wrong starts (all but "everything given") it refused or
    started without debugging: a row each, for a chart."""
    wrong = [row for row in rows if row["case"] != "everything given"]
    return [{"name": name,
             "wrong starts stopped": sum(1 for row in wrong if row[name].startswith("refused")
                                         or (row["case"] == "DJANGO_DEBUG=false"
                                             and row[name] == "starts")),
             "of": len(wrong)} for name in states]


# What DEBUG = True keeps ---------------------------------------------------------------------

KEPT = """
import json, statistics, sys, time, tracemalloc
import django
django.setup()
from django.conf import settings
from django.db import connection, reset_queries
from django.test import Client
from shop.models import Product

checkpoints = [int(n) for n in sys.argv[1].split(",")]
ids = list(Product.objects.values_list("pk", flat=True)[:200])

def statement(i):
    return Product.objects.filter(pk=ids[i % len(ids)]).values_list("name", flat=True).first()

rows = []
for debug in (True, False):
    settings.DEBUG = debug
    reset_queries()
    tracemalloc.start()
    done = 0
    for checkpoint in checkpoints:
        while done < checkpoint:
            statement(done)
            done += 1
        current, _ = tracemalloc.get_traced_memory()
        rows.append({"DEBUG": "on" if debug else "off", "statements run": checkpoint,
                     "statements kept": len(connection.queries),
                     "kept MB": round(current / 1e6, 2)})
        print(f"[DEBUG {'on' if debug else 'off'}] {checkpoint} statements", file=sys.stderr,
              flush=True)
    tracemalloc.stop()
    reset_queries()

timings = {}
for _ in range(5):
    for debug in (True, False):
        settings.DEBUG = debug
        reset_queries()
        started = time.perf_counter()
        for i in range(2000):
            statement(i)
        took = time.perf_counter() - started
        timings.setdefault(debug, []).append(took / 2000 * 1e6)
per_statement = {debug: statistics.median(values) for debug, values in timings.items()}

settings.DEBUG = True
client = Client()
client.cookies["returning"] = "1"  # a visitor with a cookie: the page itself, not a copy (09.5)
kept_after = []
for i in range(200):
    client.get("/products/")
    kept_after.append(len(connection.queries))
settings.DEBUG = False
print(%(mark)r + json.dumps({"rows": rows, "us_on": per_statement[True],
                             "us_off": per_statement[False],
                             "web_kept_max": max(kept_after), "web_kept_last": kept_after[-1],
                             "web_requests": len(kept_after),
                             "cap": connection.queries_limit}))
""".replace("%(mark)r", repr(MARK))


def debug_keeps(target: Path, checkpoints: tuple[int, ...] = (3000, 6000, 9000, 12000)
                ) -> dict[str, Any]:
    """Run ``checkpoints[-1]`` small ORM statements in one process outside any request, as a
    worker or a command does, with DEBUG on and then off, on a migrated copy of the learner's
    data: how many statements each keeps and the memory they hold at each checkpoint; the
    median time per statement either way; and, for contrast, how many a web process keeps
    over 200 requests with DEBUG on (each request starts with an empty list)."""
    from course.measuring import bench, visits

    with bench.migrated_copy(target) as env, \
            tempfile.TemporaryDirectory(prefix="course-debug-") as scratch:
        env = visits.production_env(env, Path(scratch))
        env["DJANGO_ALLOWED_HOSTS"] = "testserver"
        line = bench.run_child([sys.executable, "-c", KEPT,
                                ",".join(str(n) for n in checkpoints)], env,
                               "counting what DEBUG keeps", MARK)
    result = json.loads(line)
    result["ratio"] = round(result["us_on"] / result["us_off"], 2) if result["us_off"] else None
    return result


def kept_chart(rows: list[dict[str, Any]], *, title: str = "") -> Any:
    """Statements kept against statements run, a line for DEBUG on and one for off."""
    from course.measuring import charts

    figure = charts.figure(figsize=(7.5, 3.8))
    axes = figure.subplots()
    for debug, colour in (("on", "#c0392b"), ("off", "#2e86c1")):
        points = [row for row in rows if row["DEBUG"] == debug]
        axes.plot([row["statements run"] for row in points],
                  [row["statements kept"] for row in points], marker="o", color=colour,
                  label=f"DEBUG {debug}")
    axes.set_xlabel("statements run in one process, outside any request")
    axes.set_ylabel("statements kept (connection.queries)")
    axes.set_title(title or "what DEBUG = True keeps in a worker or a command")
    axes.legend()
    axes.grid(alpha=0.3)
    return figure


# Asking a server as its proxy does -----------------------------------------------------------

def ask(base: str, path: str, headers: dict[str, str] | None = None
        ) -> tuple[int, dict[str, str], list[str], str]:
    """GET ``path`` on ``base`` (Host 127.0.0.1 unless ``headers`` say otherwise) without
    following a redirect: status, headers (lower-case names), every Set-Cookie, the body."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]),
                                            timeout=30)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.headers.get_all("Set-Cookie") or [], body)
    finally:
        connection.close()


# Error pages during an outage (12.3) ---------------------------------------------------------

# Nothing listens on port 9 (discard) of this machine, and no folder has this name.
UNREACHABLE_DATABASE = "/nonexistent-course-folder/shop.sqlite3"
UNREACHABLE = {"COURSE_SQLITE_PATH": UNREACHABLE_DATABASE, "REDIS_URL": "redis://127.0.0.1:9/0"}
OUTAGE_PAGES = {"the catalogue": "/products/", "a mistyped address": "/no-such-page/"}
SHOP_PAGE = ("Under Load Shop", 'href="/products/"')  # the shop's name, a way back


def error_page_kind(page: str) -> str:
    """What an error page a visitor got is: the shop's own (its name and a way back to the
    products), or what stood in for it, in a few words."""
    text = " ".join(page.split())
    if all(sign in page for sign in SHOP_PAGE):
        return "the shop's own page"
    if not text:
        return "an empty answer: rendering the error page itself failed"
    if "Internal Server Error" in text and "Under Load Shop" not in text:
        return ("the app server's bare \"Internal Server Error\": rendering the error page "
                "itself failed")
    if "<h1>Not Found</h1>" in text or "<h1>Server Error (500)</h1>" in text:
        return "Django's default page (no templates/404.html or 500.html)"
    return f"a page without the shop's name and a link to /products/: {text[:120]!r}"


def during_an_outage(states: dict[str, Path]) -> list[dict[str, Any]]:
    """Each state under gunicorn with its production settings, its database and Redis
    unreachable: what a visitor gets for :data:`OUTAGE_PAGES`."""
    import urllib.error
    import urllib.request

    from course.measuring import visits

    rows = []
    for name, target in states.items():
        print(f"  {name}: the database and Redis unreachable …", flush=True)
        with visits.serve_production(target, workers=1, probe_path="/healthz",
                                     extra_env=UNREACHABLE) as base:
            for what, path in OUTAGE_PAGES.items():
                try:
                    with urllib.request.urlopen(base + path, timeout=30) as response:
                        status, body = response.status, response.read()
                except urllib.error.HTTPError as error:
                    status, body = error.code, error.read()
                rows.append({"project": name, "page": what, "status": status,
                             "the visitor got": error_page_kind(body.decode("utf-8",
                                                                           "replace")),
                             "bytes": len(body)})
    return rows


# HTTPS behind the balancer (12.4) ------------------------------------------------------------

def deploy_check(states: dict[str, Path]) -> list[dict[str, Any]]:
    """``manage.py check --deploy --fail-level WARNING`` under each state's production
    settings, started as a platform starts them (:func:`platform_env`): what it reports."""
    import re

    rows = []
    with tempfile.TemporaryDirectory(prefix="course-deploy-check-") as scratch:
        for name, target in states.items():
            env = platform_env(target, Path(scratch))
            completed = subprocess.run(
                [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                cwd=target, env=env, capture_output=True, text=True, timeout=120)
            found = sorted(set(re.findall(r"security\.[WE]\d+",
                                          completed.stdout + completed.stderr)))
            rows.append({"project": name, "passes": completed.returncode == 0,
                         "warnings": len(found), "which": ", ".join(found) or "–"})
    return rows


def https_answers(states: dict[str, Path]) -> list[dict[str, Any]]:
    """Each state under gunicorn with its production settings as a platform runs them (HTTPS
    on, behind a balancer at 127.0.0.1 that ends TLS): what a request the balancer got over
    http, and one it got over https, are answered."""
    import re

    from course.measuring import visits

    rows = []
    for name, target in states.items():
        print(f"  {name}: behind a balancer that ends TLS …", flush=True)
        with visits.serve_production(target, workers=1, probe_path="/healthz", extra_env={
                "DJANGO_HTTPS": "on", "TRUSTED_PROXIES": "127.0.0.1"}) as base:
            plain = ask(base, "/products/")
            secure = ask(base, "/admin/login/", {"X-Forwarded-Proto": "https"})
        hsts = re.search(r"max-age=(\d+)", secure[1].get("strict-transport-security", ""))
        cookie = next((c for c in secure[2] if c.startswith("csrftoken=")), "")
        rows.append({
            "project": name,
            "over http": f"{plain[0]} {plain[1].get('location', '')}".strip(),
            "over https": secure[0],
            "HSTS days": int(hsts[1]) // 86400 if hsts else 0,
            "CSRF cookie": ("Secure" if "secure" in cookie.lower().replace(" ", "").split(";")
                            else "also over http") if cookie else "–",
        })
    return rows


# Links from the shop's own address (12.5) ----------------------------------------------------

SITE_URL = "https://shop.example.com"
STAFF_EMAIL = "staff@shop.example"
# A staff member whose password the production settings' hasher checks fast (few iterations).
MAKE_STAFF = f"""
import django
django.setup()
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
hasher = PBKDF2PasswordHasher()
User.objects.filter(username="course-staff").delete()
User.objects.create(username="course-staff", email={STAFF_EMAIL!r}, is_staff=True,
                    password=hasher.encode("course-password", hasher.salt(), 1000))
"""


def reset_links(states: dict[str, Path]) -> list[dict[str, Any]]:
    """Each state under gunicorn with its production settings, ``SHOP_SITE_URL`` set and
    127.0.0.1 among its allowed hosts: a staff member's password reset asked through
    127.0.0.1, as through an instance's own address, and where the mailed link goes; and
    what a request with a Host nobody allowed gets."""
    import re

    from course.measuring import load, visitor, visits
    from course.services.mailserver import PrivateServer, text_of

    rows = []
    for name, target in states.items():
        print(f"  {name}: a password reset through 127.0.0.1 …", flush=True)
        with tempfile.TemporaryDirectory(prefix="course-reset-") as scratch:
            mail = PrivateServer(Path(scratch) / "smtp").start()
            try:
                with visits.production_ready(target, extra_env={
                        "SHOP_SITE_URL": SITE_URL, "SMTP_HOST": "127.0.0.1",
                        "SMTP_PORT": str(mail.port),
                        "DJANGO_ALLOWED_HOSTS": "shop.example.com,127.0.0.1,localhost"}) as env:
                    subprocess.run([sys.executable, "-c", MAKE_STAFF], cwd=target, env=env,
                                   check=True, capture_output=True, timeout=120)
                    with load.gunicorn("config.wsgi:application", env, cwd=target, workers=1,
                                       probe_path="/healthz") as base:
                        person = visitor.Visitor()
                        form = person.answer(f"{base}/admin/password_reset/")
                        person.answer(f"{base}/admin/password_reset/", {
                            "csrfmiddlewaretoken": visitor.csrf_token(form.body) or "",
                            "email": STAFF_EMAIL})
                        forged = ask(base, "/admin/password_reset/",
                                     {"Host": "shop.attacker.example"})[0]
                found = [re.search(r"https?://[^\s/]+/reset/", text_of(message))
                         for message in mail.messages()]
            finally:
                mail.stop()
        links = [match[0].removesuffix("/reset/") for match in found if match]
        rows.append({"project": name, "reset page": form.status,
                     "link goes to": ", ".join(links) or "no mail",
                     "on the shop's address": bool(links) and all(
                         link == SITE_URL for link in links),
                     "forged Host answered": forged})
    return rows
