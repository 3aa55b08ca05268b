"""Real servers on 127.0.0.1 that a production Django site uses, each from a PyPI wheel.

Owns: the service plug-ins (``plugins/``: one module per service), the
registry that finds them, the supervisord configuration generated from them,
ports, ``.course/env`` addresses, health and logs; and the helpers that run a
private copy of a server for a grader or a measurement (``mailserver``,
``celery_process``). Depends only on ``course.paths``, ``envfile`` and
``catalog``.

    from course import services
    services.up()                      # Redis, SMTP (+ whatever is enabled)
    services.up(["appserver"], scale=3)
    print(services.format_status(services.status()))
"""

from course.services.base import Instance, Service, ServiceError
from course.services.control import (
    ServiceState,
    Status,
    down,
    enabled,
    format_status,
    log_tail,
    restart,
    status,
    up,
)
from course.services.plugins.redis import database_url as redis_url
from course.services.plugins.redis import server_binary as redis_server_binary
from course.services.plugins.worker import connection as worker_connection
from course.services.plugins.worker import project_has_celery_app
from course.services.ports import free_port, port_is_free

WORKER = "worker"

__all__ = [
    "WORKER",
    "Instance",
    "Service",
    "ServiceError",
    "ServiceState",
    "Status",
    "down",
    "enabled",
    "format_status",
    "free_port",
    "log_tail",
    "port_is_free",
    "project_has_celery_app",
    "redis_server_binary",
    "redis_url",
    "restart",
    "status",
    "up",
    "worker_connection",
]
