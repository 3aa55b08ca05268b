"""Every service the course can run, found in ``course/services/plugins/``.

A plug-in is a module in that folder with a module-level ``SERVICE`` (a
:class:`~course.services.base.Service`). Adding a service is adding such a
module: the supervisor configuration, the ``services`` verbs and ``doctor``
all read this registry.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from course.services import plugins
from course.services.base import Service, ServiceError


@cache
def all_services() -> dict[str, Service]:
    """Every service by name, in start order (a service after those it requires)."""
    found: dict[str, Service] = {}
    for module_info in sorted(pkgutil.iter_modules(plugins.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{plugins.__name__}.{module_info.name}")
        service = getattr(module, "SERVICE", None)
        if isinstance(service, Service):
            if service.name in found:
                raise ServiceError(f"two plug-ins are called {service.name!r}")
            found[service.name] = service
    return {name: found[name] for name in _start_order(found)}


def _start_order(services: dict[str, Service]) -> list[str]:
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            raise ServiceError(f"services require each other in a circle: {name}")
        if name not in services:
            raise ServiceError(f"a service requires {name!r}, which no plug-in provides")
        visiting.add(name)
        for required in services[name].requires:
            visit(required)
        visiting.discard(name)
        ordered.append(name)

    for name in sorted(services):
        visit(name)
    return ordered


def get(name: str) -> Service:
    services = all_services()
    if name not in services:
        raise ServiceError(f"there is no service called {name!r}; services: "
                           f"{', '.join(services)}")
    return services[name]
