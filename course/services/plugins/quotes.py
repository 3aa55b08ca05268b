"""The carrier's shipping-quote service (``course/services/quotes.py``): the slow outside
HTTP service the shop calls on its shipping page (chapter 08), made to hang on demand."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import ClassVar

from course.services import quotes
from course.services.base import Instance, Program, Service


class OutsideService(Service):
    """One role of the course's outside HTTP server, with a control file of its own and its
    address published under ``variable``."""

    variable: ClassVar[str] = "SHIPPING_QUOTES_URL"

    def automatic(self) -> bool:
        return True

    def prepare(self, quiet: bool) -> None:
        if not quotes.control_file(self.name).exists():
            quotes.reset_behaviour(quotes.control_file(self.name))

    def program(self, instance: Instance) -> Program:
        return Program(f"{sys.executable} -m course.services.quotes --port {instance.port} "
                       f"--control {quotes.control_file(self.name)}")

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        return {self.variable: self.url(instances[0])}

    def url(self, instance: Instance) -> str:
        return f"http://127.0.0.1:{instance.port}"

    def healthy(self, instance: Instance) -> bool:
        return instance.port is not None and quotes.answers(instance.port)


class Quotes(OutsideService):
    name = "quotes"
    summary = "the carrier's shipping-quote API (slow, or hanging, on demand)"
    preferred_port = 8130


SERVICE = Quotes()
