"""The carrier's shipping-quote service (``course/services/quotes.py``): the slow outside
HTTP service the shop calls on its shipping page (chapter 08), made to hang on demand."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from course.services import quotes
from course.services.base import Instance, Program, Service


class Quotes(Service):
    name = "quotes"
    summary = "the carrier's shipping-quote API (slow, or hanging, on demand)"
    preferred_port = 8130

    def automatic(self) -> bool:
        return True

    def prepare(self, quiet: bool) -> None:
        if not quotes.control_file().exists():
            quotes.reset_behaviour()

    def program(self, instance: Instance) -> Program:
        return Program(f"{sys.executable} -m course.services.quotes --port {instance.port} "
                       f"--control {quotes.control_file()}")

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        return {"SHIPPING_QUOTES_URL": self.url(instances[0])}

    def url(self, instance: Instance) -> str:
        return f"http://127.0.0.1:{instance.port}"

    def healthy(self, instance: Instance) -> bool:
        return instance.port is not None and quotes.answers(instance.port)


SERVICE = Quotes()
