"""Services really start, answer, survive a second `up`, heal stale state and stop.

Runs against a throw-away COURSE_HOME, in subprocesses, so the developer's own
services and `.course/` are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from course import envfile, paths, services
from course.services import ports

SCRIPT = """
import json, sys
from course import services
from course.services import supervisor
action = sys.argv[1]
if action == "up":
    services.up(postgres=sys.argv[2] == "pg", quiet=True); status = services.status()
elif action == "up-replica":
    services.up(["replica"], quiet=True); status = services.status()
elif action == "down":
    services.down(); status = services.status()
elif action == "stop-redis":
    supervisor.stop_program("redis"); status = services.status()
else:
    status = services.status()
print(json.dumps({"supervisor": status.supervisor,
                  "services": {s.name: [s.state, s.url, s.healthy] for s in status.services}}))
"""


# Rows written while an autovacuum frees earlier rolled-back rows go back to the table's first
# pages; plans.fresh_table (graders of chapter 03) keeps them in the order written.
FRESH_TABLE_SCRIPT = """
import sys
import django, psycopg
from django.conf import settings
from django.db import connection, transaction
settings.configure(DATABASES={"default": {"ENGINE": "django.db.backends.postgresql",
    "NAME": "shop", "USER": "shop", "PASSWORD": "shop", "HOST": "127.0.0.1",
    "PORT": sys.argv[1]}})
django.setup()
from course.measuring import plans
rows = [((20000 - n) * 52,) for n in range(20000)]
insert = "INSERT INTO layout (created_at) VALUES (now() - make_interval(mins => %s))"
with connection.cursor() as cursor:
    cursor.execute("DROP TABLE IF EXISTS layout")
    cursor.execute("CREATE TABLE layout (id serial PRIMARY KEY, created_at timestamptz)")
    for _ in range(2):  # earlier tests' rows, rolled back
        with transaction.atomic():
            cursor.executemany(insert, rows)
            transaction.set_rollback(True)
    for fresh in (False, True):
        with transaction.atomic():
            if fresh:
                plans.fresh_table("layout")
            cursor.executemany(insert, rows[:8000])
            with psycopg.connect(f"postgresql://shop:shop@127.0.0.1:{sys.argv[1]}/shop",
                                 autocommit=True) as other:
                other.execute("VACUUM (SKIP_LOCKED) layout")  # as autovacuum might
            cursor.executemany(insert, rows[8000:])
            cursor.execute("ANALYZE layout")
            cursor.execute("SELECT correlation FROM pg_stats WHERE tablename = 'layout' "
                           "AND attname = 'created_at'")
            print(fresh, round(cursor.fetchone()[0], 2))
            transaction.set_rollback(True)
    cursor.execute("DROP TABLE layout")
"""


def _services(home: Path, action: str, postgres: bool = False) -> dict:
    env = dict(os.environ, COURSE_HOME=str(home), PYTHONPATH=str(paths.ROOT))
    env.pop("COURSE_DB", None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, action, "pg" if postgres else "-"],
        env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


@pytest.fixture
def home():
    """A throw-away ``COURSE_HOME`` outside pytest's own temporary tree: PostgreSQL runs as a
    system user who must be able to walk into it, and every pytest process that starts sets
    ``pytest-of-<user>`` back to 0700 (another part of the suite may start one at any time)."""
    home = Path(tempfile.mkdtemp(prefix="course-services-test-")) / "state"
    home.mkdir()
    yield home
    _services(home, "down")
    shutil.rmtree(home.parent, ignore_errors=True)


def test_up_status_ping_second_up_and_down(home: Path) -> None:
    import redis

    first = _services(home, "up")
    assert first["supervisor"] is True
    assert first["services"]["redis"][0] == "running" and first["services"]["redis"][2]
    redis_url = first["services"]["redis"][1]
    assert redis.Redis.from_url(redis_url).ping() is True
    env_text = (home / "env").read_text()
    assert f"REDIS_URL={redis_url}" in env_text

    pid = int((home / "run" / "supervisord.pid").read_text())
    started = time.monotonic()
    again = _services(home, "up")
    assert time.monotonic() - started < 10
    assert again["services"]["redis"][1] == redis_url, "a second up keeps the same services"
    assert int((home / "run" / "supervisord.pid").read_text()) == pid

    stopped = _services(home, "down")
    assert stopped["supervisor"] is False
    assert stopped["services"]["redis"][0] == "stopped"
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()


def test_busy_port_is_avoided_and_stale_state_is_healed(home: Path) -> None:
    (home / "run").mkdir()
    (home / "run" / "ports.json").write_text(json.dumps({"redis": 0}))
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        (home / "run" / "ports.json").write_text(json.dumps({"redis": busy}))
        status = _services(home, "up")
    redis_port = _port(status["services"]["redis"][1])
    assert redis_port != busy and status["services"]["redis"][2]

    # Kill supervisord and its children hard, as a reboot would: files stay behind.
    # (redis-server rewrites its command line, so pkill -f cannot find it: ask it its pid.)
    import redis

    redis_pid = redis.Redis(port=redis_port).info()["process_id"]
    os.kill(redis_pid, signal.SIGKILL)
    pid = int((home / "run" / "supervisord.pid").read_text())
    os.killpg(os.getpgid(pid), signal.SIGKILL) if os.getpgid(pid) != os.getpgid(0) \
        else os.kill(pid, signal.SIGKILL)
    subprocess.run(["pkill", "-9", "-f", str(home)], check=False)
    time.sleep(0.5)
    assert (home / "run" / "supervisor.sock").exists()
    healed = _services(home, "up")
    assert healed["supervisor"] is True and healed["services"]["redis"][2]


def test_two_homes_starting_at_once_never_share_a_port(home: Path) -> None:
    """Two checkouts (or two parts of the suite) that start services at the same moment both
    find the same port free: the second to claim must see the first holding it."""
    other = home.parent / "other"
    wanted = dict(zip(("redis", "smtp", "quotes"), ports.free_ports(3), strict=True))
    for state in (home, other):
        (state / "run").mkdir(parents=True)
        (state / "run" / "ports.json").write_text(json.dumps(wanted))
    env = {key: value for key, value in os.environ.items() if key != "COURSE_DB"}
    starts = [subprocess.Popen([sys.executable, "-c", SCRIPT, "up", "-"],
                               env={**env, "PYTHONPATH": str(paths.ROOT), "COURSE_HOME": str(state)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for state in (home, other)]
    try:
        results = [start.communicate(timeout=180) for start in starts]
    finally:
        _services(other, "down")
    for start, (_out, err) in zip(starts, results, strict=True):
        assert start.returncode == 0, err[-2000:]
    statuses = [json.loads(out.strip().splitlines()[-1])["services"] for out, _ in results]
    for name in wanted:
        assert all(status[name][0] == "running" and status[name][2] for status in statuses)
        assert _port(statuses[0][name][1]) != _port(statuses[1][name][1]), name


@pytest.mark.skipif(os.environ.get("COURSE_SKIP_POSTGRES") == "1", reason="COURSE_SKIP_POSTGRES=1")
def test_postgres_really_runs(home: Path) -> None:
    try:
        _postgres_runs_and_bench_copies_it(home)
    except Exception as error:  # the server's own words, should it ever fail here
        log = home / "logs" / "postgres.log"
        tail = "\n".join(log.read_text().splitlines()[-25:]) if log.exists() else "no log"
        raise AssertionError(f"{error}\n--- postgres.log ---\n{tail}") from error


@pytest.mark.skipif(os.environ.get("COURSE_SKIP_POSTGRES") == "1", reason="COURSE_SKIP_POSTGRES=1")
def test_replica_streams_the_primary_a_moment_behind_and_refuses_writes(home: Path) -> None:
    import psycopg

    from course.services.plugins import replica

    status = _services(home, "up-replica")
    for name in ("postgres", "replica"):
        state, _, healthy = status["services"][name]
        assert state == "running" and healthy, (name, state, (home / "logs" / f"{name}.log")
                                                .read_text()[-2000:])
    primary = status["services"]["postgres"][1].replace("postgres://", "postgresql://")
    copy = status["services"]["replica"][1].replace("postgres://", "postgresql://")
    assert f"DATABASE_REPLICA_URL={status['services']['replica'][1]}" in \
        (home / "env").read_text()
    with psycopg.connect(primary, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS replicated (id int)")
    deadline = time.monotonic() + 30
    while True:  # the shop's role, made on the primary by the first `up`, replicates too
        try:
            standby = psycopg.connect(copy, autocommit=True)
            break
        except psycopg.OperationalError:
            assert time.monotonic() < deadline, "the shop's role never reached the replica"
            time.sleep(0.1)
    with standby:
        while not standby.execute("SELECT to_regclass('replicated')").fetchone()[0]:
            assert time.monotonic() < deadline, "the table never reached the replica"
            time.sleep(0.1)
        with psycopg.connect(primary, autocommit=True) as conn:
            conn.execute("INSERT INTO replicated VALUES (1)")
        written = time.monotonic()
        while not standby.execute("SELECT count(*) FROM replicated").fetchone()[0]:
            assert time.monotonic() - written < 30, "the row never reached the replica"
            time.sleep(0.02)
        lag = time.monotonic() - written
        delay = float(replica.APPLY_DELAY.rstrip("s"))
        assert lag >= delay * 0.9, f"the row was on the replica after {lag:.2f} s"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            standby.execute("INSERT INTO replicated VALUES (2)")


def _postgres_runs_and_bench_copies_it(home: Path) -> None:
    import psycopg

    status = _services(home, "up", postgres=True)
    state, url, healthy = status["services"]["postgres"]
    assert state == "running" and healthy
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS probe (id int)")
        conn.execute("INSERT INTO probe VALUES (1)")
        assert conn.execute("SELECT count(*) FROM probe").fetchone()[0] >= 1
    assert f"POSTGRES_URL={url}" in (home / "env").read_text()

    # bench measures on a scratch copy of the database, and refuses while it is in use
    from course.measuring.bench import BenchError, postgres_copy

    with postgres_copy(url) as copy_url:
        with psycopg.connect(copy_url, autocommit=True) as copy:
            assert copy.execute("SELECT count(*) FROM probe").fetchone()[0] >= 1
    with psycopg.connect(url, autocommit=True) as conn:
        name = copy_url.rsplit("/", 1)[1]
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s",
                            [name]).fetchone()[0] == 0, "the copy was not dropped"
        with pytest.raises(BenchError, match="connected to it"), postgres_copy(url):
            pass

    # a fixture's table lies on disk in the order it wrote it, whatever a vacuum did meanwhile
    result = subprocess.run([sys.executable, "-c", FRESH_TABLE_SCRIPT, str(_port(url))],
                            env=dict(os.environ, PYTHONPATH=str(paths.ROOT)),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    correlation = dict(line.split() for line in result.stdout.split("\n") if line)
    assert float(correlation["False"]) < 0.5, f"the vacuum did not scatter the rows: {correlation}"
    assert float(correlation["True"]) == 1.0, f"fresh_table left them scattered: {correlation}"


def test_a_service_that_cannot_start_is_one_clear_line(home: Path) -> None:
    fake = home / "broken-redis-server"
    fake.write_text("#!/bin/sh\necho 'FATAL: cannot open the data directory' >&2\nexit 1\n")
    fake.chmod(0o755)
    env = dict(os.environ, COURSE_HOME=str(home), COURSE_REDIS_SERVER=str(fake))
    result = subprocess.run([sys.executable, "-m", "course", "services", "up"], cwd=paths.ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("course: redis failed to start")
    assert "cannot open the data directory" in lines[0] and "redis.log" in lines[0]


STAND_IN_CELERY = '''
import os
from pathlib import Path

from celery import Celery

broker = next(line.split("=", 1)[1] for line in
              (Path(os.environ["COURSE_HOME"]) / "env").read_text().splitlines()
              if line.startswith("CELERY_BROKER_URL="))
app = Celery("config", broker=broker, backend=broker)


@app.task(name="stand_in.add")
def add(a, b):
    return a + b
'''


def test_worker_is_supervised_once_the_project_has_a_celery_app(home: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "config" / "settings").mkdir(parents=True)
    (project / "config" / "__init__.py").write_text("")
    (project / "config" / "settings" / "__init__.py").write_text("")
    (project / "config" / "settings" / "dev.py").write_text(  # the worker runs dev settings
        "SECRET_KEY = 'stand-in'\nINSTALLED_APPS = []\nUSE_TZ = True\n")
    env = dict(os.environ, COURSE_HOME=str(home), COURSE_STARTER=str(project),
               PYTHONPATH=str(paths.ROOT))
    env.pop("COURSE_DB", None)
    env_file = home / "env"

    def services(action: str) -> dict:
        result = subprocess.run([sys.executable, "-c", SCRIPT, action, "no"], env=env,
                                capture_output=True, text=True, timeout=120, check=True)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def broker() -> str:
        return envfile.read(env_file)["CELERY_BROKER_URL"]

    def adds() -> int:
        from celery import Celery

        client = Celery("client", broker=broker(), backend=broker())
        return client.send_task("stand_in.add", args=(2, 3)).get(timeout=30)

    assert "worker" not in services("up")["services"], "no Celery app yet: no worker"
    (project / "config" / "celery.py").write_text(STAND_IN_CELERY)
    stale = "redis://127.0.0.1:1/1"  # addresses from an earlier start, on other ports
    envfile.update({"CELERY_BROKER_URL": stale}, env_file)
    assert services("up")["services"]["worker"][:3:2] == ["running", True]
    assert broker() != stale and adds() == 5, "the worker must start with the current addresses"

    envfile.update({"CELERY_BROKER_URL": stale}, env_file)
    services("up")  # the worker read addresses that are not the services' any more: restarted
    assert broker() != stale and adds() == 5

    services("stop-redis")
    deadline = time.monotonic() + 30
    while services("status")["services"]["worker"][2] and time.monotonic() < deadline:
        time.sleep(0.5)
    worker = services("status")["services"]["worker"]
    assert worker[:3:2] == ["running", False], "a worker cut off from its broker is not healthy"
    assert services("up")["services"]["worker"][2], "Redis is back: the worker reconnects"
    assert adds() == 5


@pytest.mark.parametrize(("log", "expected"), [
    ("", None),
    ("[..: INFO/MainProcess] Connected to redis://127.0.0.1:6390/1\n"
     "[..: INFO/MainProcess] celery@box ready.\n", "connected"),
    ("[..: ERROR/MainProcess] consumer: Cannot connect to redis://127.0.0.1:6379/1: "
     "Error 111\nTrying again in 2.00 seconds... (1/100)\n", "disconnected"),
    ("celery@box ready.\n[..: WARNING/MainProcess] consumer: Connection to broker lost. "
     "Trying to re-establish the connection...\n", "disconnected"),
    ("celery@box ready.\nconsumer: Connection to broker lost.\n"
     "Cannot connect to redis://127.0.0.1:6390/1\nConnected to redis://127.0.0.1:6390/1\n",
     "connected"),
])
def test_worker_connection_is_its_latest_word_on_the_broker(log: str, expected: str | None) -> None:
    assert services.worker_connection(log) == expected


def test_celery_app_probe_is_kept_until_the_module_changes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "config" / "__init__.py").write_text("")
    module = project / "config" / "celery.py"
    module.write_text("# TODO: the app\n")
    assert services.project_has_celery_app(project, run) is False
    assert (tmp_path / "run" / "celery-app").read_text().endswith("False\n")
    module.write_text("from celery import Celery\napp = Celery('config')\n")
    assert services.project_has_celery_app(project, run) is True, "a changed module is probed again"
    started = time.perf_counter()
    assert services.project_has_celery_app(project, run) is True
    assert time.perf_counter() - started < 0.05, "an unchanged module is not imported again"
