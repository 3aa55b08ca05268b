"""``services up | down | status | restart``: the registry's services, kept running by supervisord.

Which services run: those that start by themselves (``automatic()``: Redis
and SMTP always, PostgreSQL when ``COURSE_DB=postgres``, the worker once the
project has a Celery app) plus those asked for by name (a chapter, ``check
--db postgres``, ``services up appserver --scale 3``), which are remembered
in ``.course/run/enabled.json`` until ``services down NAME``.
"""

from __future__ import annotations

import time
import xmlrpc.client
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from course import envfile, paths, statefiles, text
from course.services import logs, ports, registry, supervisor
from course.services.base import Instance, Service, ServiceError, log_path


@dataclass
class ServiceState:
    name: str  # the instance id: "redis", "appserver-2"
    state: str  # running, stopped, starting, failed
    url: str = ""
    healthy: bool = False
    log_tail: str = ""
    service: str = ""


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


def _enabled_file():
    return supervisor.run_dir() / "enabled.json"


def enabled() -> dict[str, int]:
    """Services asked for by name, with their number of instances."""
    data = statefiles.read_json(_enabled_file(), {})
    values = {str(k): max(1, int(v)) for k, v in data.items()} if isinstance(data, dict) else {}
    if (supervisor.run_dir() / "postgres-enabled").exists():  # written by earlier versions
        values.setdefault("postgres", 1)
    return values


def _save_enabled(values: Mapping[str, int]) -> None:
    statefiles.write_json(_enabled_file(), dict(values))
    (supervisor.run_dir() / "postgres-enabled").unlink(missing_ok=True)


def _wanted(asked: Mapping[str, int]) -> list[Service]:
    """The services to run, in start order, with what they require."""
    services = registry.all_services()
    names = {name for name, service in services.items()
             if (name in asked or service.automatic()) and service.available()}
    pending = list(names)
    while pending:
        for required in services[pending.pop()].requires:
            if required not in names:
                names.add(required)
                pending.append(required)
    return [service for name, service in services.items() if name in names]


def _instances(wanted: list[Service], asked: Mapping[str, int], running: set[str],
               quiet: bool) -> dict[str, list[Instance]]:
    counts = {s.name: (asked.get(s.name, 1) if s.scalable else 1) for s in wanted}
    preferred: dict[str, int] = {}
    for service in wanted:
        for number in range(1, counts[service.name] + 1):
            instance = Instance(service.name, number, scaled=service.scalable)
            if service.preferred_port is not None:
                preferred[instance.id] = service.preferred_port + number - 1
    chosen = ports.choose(preferred, running, quiet)
    return {
        s.name: [Instance(s.name, n, chosen.get(Instance(s.name, n, scaled=s.scalable).id),
                          scaled=s.scalable) for n in range(1, counts[s.name] + 1)]
        for s in wanted
    }


def _publish(wanted: list[Service], instances: Mapping[str, list[Instance]]) -> bool:
    """Write every service's addresses to the env file; whether any of them changed."""
    changes: dict[str, str | None] = {}
    for service in wanted:
        changes.update(service.publishes(instances[service.name]))
    before = envfile.read(paths.ENV_FILE)
    envfile.update(changes, paths.ENV_FILE)
    return any(before.get(key) != value for key, value in changes.items())


def _state_word(raw: str | None) -> str:
    if raw == "RUNNING":
        return "running"
    if raw in ("STARTING", "BACKOFF"):
        return "starting"
    if raw in ("FATAL", "EXITED", "UNKNOWN"):
        return "failed"
    return "stopped"


def _wait_healthy(fresh: list[tuple[Service, Instance]]) -> None:
    """Wait until each freshly started essential instance answers; one clear error if not."""
    pending = list(fresh)
    started = time.monotonic()
    while pending:
        states = supervisor.process_states()
        for service, instance in list(pending):
            state = states.get(instance.id)
            elapsed = time.monotonic() - started
            if state in ("FATAL", "EXITED", "BACKOFF") and elapsed > 2:
                raise ServiceError(
                    f"{instance.id} failed to start ({state}): "
                    f"{logs.tail(instance.id, 1) or 'no output'} "
                    f"(full log: {log_path(instance.id)})")
            if state == "RUNNING" and service.healthy(instance):
                pending.remove((service, instance))
            elif elapsed > service.health_timeout:
                raise ServiceError(
                    f"{instance.id} did not answer within {service.health_timeout:.0f} s: "
                    f"{logs.tail(instance.id, 1) or 'no output'} "
                    f"(full log: {log_path(instance.id)})")
        if pending:
            time.sleep(0.1)


_services_lock = statefiles.ReentrantFileLock()


def _exclusive() -> AbstractContextManager[None]:
    """One ``up`` or ``down`` at a time across processes (parts of the suite, a notebook and a
    check may ask at once); re-entrant within a process."""
    return _services_lock.held(supervisor.run_dir() / "services.lock")


def up(names: Iterable[str] = (), *, scale: int | None = None, quiet: bool = False,
       postgres: bool | None = None) -> None:
    """Start what is wanted and not running (harmless when everything is).

    ``names`` are started too and remembered; ``scale`` sets their number of
    instances (for services that can run several).
    """
    with _exclusive():
        _up(list(names), scale=scale, quiet=quiet, postgres=postgres)


def _up(names: list[str], *, scale: int | None, quiet: bool, postgres: bool | None) -> None:
    for folder in (supervisor.run_dir(), paths.STATE / "logs", paths.STATE / "data"):
        folder.mkdir(parents=True, exist_ok=True)
    asked = enabled()
    for name in [*names, *(["postgres"] if postgres else [])]:
        service = registry.get(name)
        if scale is not None and scale > 1 and not service.scalable:
            raise ServiceError(f"{name} runs once; only {', '.join(_scalable())} can scale")
        asked[name] = (scale or asked.get(name, 1)) if service.scalable else 1
    _save_enabled(asked)
    wanted = _wanted(asked)
    for service in wanted:
        service.prepare(quiet)
    with ports.claiming():  # until the servers hold the ports chosen for them
        instances, fresh, offsets = _start(wanted, asked, quiet)
    for service in wanted:
        if any(s is service for s, _ in fresh) and service.essential:
            service.after_start(instances[service.name])
    for service, instance in fresh:
        if not service.essential and service.preferred_port is None:
            service.wait_started(instance, offsets[instance.id], quiet)


Started = tuple[dict[str, list[Instance]], list[tuple[Service, Instance]], dict[str, int]]


def _start(wanted: list[Service], asked: Mapping[str, int], quiet: bool) -> Started:
    """Choose ports, publish them, start what is not running and wait until each new server
    listens; the instances, those started afresh and where their logs began."""
    supervisor_up = supervisor.running()
    states = supervisor.process_states() if supervisor_up else {}
    running = {name for name, state in states.items() if state == "RUNNING"}
    # A program still starting holds its port too: it must not be moved to another one.
    holding = {name for name, state in states.items() if state in ("RUNNING", "STARTING")}
    instances = _instances(wanted, asked, holding, quiet)
    # Addresses go to the env file before anything starts: programs read it when they start.
    addresses_changed = _publish(wanted, instances)
    offsets = {i.id: logs.size(i.id) for group in instances.values() for i in group}
    programs = {i.id: service.program(i) for service in wanted for i in instances[service.name]}
    supervisor.write_config(programs)
    if supervisor_up:
        running -= supervisor.apply_config_changes()  # new or changed: started afresh
        states = supervisor.process_states()
        for name in programs:
            if states.get(name) != "RUNNING":
                supervisor.start_program(name)
    else:
        if not quiet:
            print("course: starting services under supervisord …", flush=True)
        supervisor.start()
    fresh: list[tuple[Service, Instance]] = []
    for service in wanted:
        for instance in instances[service.name]:
            if instance.id not in running:
                fresh.append((service, instance))
            elif (service.reads_env_file and addresses_changed) or \
                    service.needs_restart(instance):
                # It read addresses that changed since, or lost a server that is back: a fresh
                # start connects at once instead of after growing retry intervals.
                offsets[instance.id] = logs.size(instance.id)
                supervisor.restart_program(instance.id)
                fresh.append((service, instance))
    _wait_healthy([(s, i) for s, i in fresh if s.essential])
    for service, instance in fresh:
        if not service.essential and service.preferred_port is not None:
            service.wait_started(instance, offsets[instance.id], quiet)
    return instances, fresh, offsets


def _scalable() -> list[str]:
    return [name for name, s in registry.all_services().items() if s.scalable]


def down(names: Iterable[str] = ()) -> None:
    """Stop every service and supervisord (no names), or stop and forget the named ones."""
    with _exclusive():
        _down(list(names))


def _down(names: list[str]) -> None:
    if not names:
        supervisor.shutdown()
        return
    asked = enabled()
    for name in names:
        registry.get(name)
        asked.pop(name, None)
    _save_enabled(asked)
    still = {service.name for service in _wanted(asked)}
    for name in names:
        if name in still:
            print(f"course: {name} keeps running: it starts by itself "
                  f"({registry.get(name).summary})")
    if supervisor.running():
        up(quiet=True)  # the configuration without them: supervisord stops and removes them


def _instance_ids(name: str, states: Mapping[str, str]) -> list[str]:
    return sorted(process for process in states
                  if process == name or process.rsplit("-", 1)[0] == name)


def restart(name: str = "worker") -> Status:
    """Restart a service's instances (the worker, after a change to a task), or one instance."""
    if not supervisor.running():
        raise ServiceError("the services are not running: `python3 -m course services up`")
    states = supervisor.process_states()
    targets = [name] if name in states else _instance_ids(name, states)
    if not targets:
        hint = ""
        if name in registry.all_services():
            hint = f": {registry.get(name).summary}"
        raise ServiceError(f"no service called {name!r} is running{hint}")
    for instance_id in targets:
        try:
            supervisor.restart_program(instance_id)
        except xmlrpc.client.Fault:  # it exited at once (SPAWN_ERROR): say why, in one line
            raise ServiceError(
                f"{instance_id} failed to start: {logs.tail(instance_id, 1) or 'no output'} "
                f"(full log: {log_path(instance_id)})") from None
    return status()


def log_tail(name: str, lines: int = 15) -> str:
    states = supervisor.process_states()
    ids = [name] if name in states or log_path(name).exists() else _instance_ids(name, states)
    return "\n\n".join(
        (f"== {instance_id} ==\n" if len(ids) > 1 else "") + logs.tail(instance_id, lines)
        for instance_id in ids
    )


def status() -> Status:
    """Each wanted or running instance: state, address, whether it answers, what went wrong."""
    supervisor_up = supervisor.running()
    states = supervisor.process_states() if supervisor_up else {}
    saved_ports = ports.saved()
    asked = enabled()
    result = Status(supervisor=supervisor_up)
    services = registry.all_services()
    for name, service in services.items():
        ids = _instance_ids(name, states)
        if not ids:
            if not ((name in asked or service.automatic()) and service.available()):
                continue
            count = asked.get(name, 1) if service.scalable else 1
            ids = [Instance(name, n, scaled=service.scalable).id for n in range(1, count + 1)]
        for instance_id in ids:
            number = int(instance_id.rsplit("-", 1)[1]) if service.scalable else 1
            instance = Instance(name, number, saved_ports.get(instance_id), service.scalable)
            state = _state_word(states.get(instance_id))
            answering = state == "running" and service.healthy(instance)
            if state == "failed":
                detail = logs.tail(instance_id)
            elif state == "running" and not answering:
                detail = service.problem(instance) or logs.tail(instance_id, 3)
            else:
                detail = ""
            result.services.append(ServiceState(
                name=instance_id, state=state, url=service.url(instance), healthy=answering,
                log_tail=detail, service=name))
    return result


def format_status(current: Status) -> str:
    """The status as a small table: each instance's state, whether it answers, its address, and
    what it last said when it does not answer."""
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    for _ in range(4):
        table.add_column(no_wrap=True)
    for service in current.services:
        health = "healthy" if service.healthy else (
            "—" if service.state == "stopped" else "no answer")
        detail = "\n".join([service.url, *(f"| {line}" for line in service.log_tail.splitlines())])
        table.add_row(f"  {service.name}", service.state, health, detail)
    parts: list[Any] = [f"supervisord: {'running' if current.supervisor else 'stopped'}"]
    if current.services:
        parts.append(table)
    if not current.supervisor:
        parts.append("  (start them with `python3 -m course services up`)")
    return text.render(*parts, width=160)
