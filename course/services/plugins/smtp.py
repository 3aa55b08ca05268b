"""The course's SMTP server (aiosmtpd, ``course/services/mailserver.py``): a real mail server
whose mailbox ``course mail`` reads, and which can be made slow or refuse mail."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from course.services import mailserver
from course.services.base import Finding, Instance, Program, Service


class Smtp(Service):
    name = "smtp"
    summary = "SMTP server (aiosmtpd): the shop's outgoing mail, kept in .course/mail/"
    preferred_port = 1025

    def automatic(self) -> bool:
        return True

    def prepare(self, quiet: bool) -> None:
        mailserver.mail_dir().mkdir(parents=True, exist_ok=True)

    def program(self, instance: Instance) -> Program:
        return Program(
            f"{sys.executable} -m course.services.mailserver --port {instance.port} "
            f"--maildir {mailserver.mail_dir()} --control {mailserver.control_file()}"
        )

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(instances[0].port)}

    def url(self, instance: Instance) -> str:
        return f"smtp://127.0.0.1:{instance.port}"

    def healthy(self, instance: Instance) -> bool:
        return instance.port is not None and mailserver.answers(instance.port)

    def doctor(self) -> list[Finding]:
        try:
            from importlib.metadata import version

            return [Finding("ok", self.name, f"aiosmtpd {version('aiosmtpd')}")]
        except Exception:  # noqa: BLE001
            return [Finding("fix", self.name, "aiosmtpd is missing: run `python3 -m course lab`")]


SERVICE = Smtp()
