"""The course's SMTP server: a real mail server that can be slow or refuse mail on demand.

Run under supervisord as ``python -m course.services.mailserver --port N --maildir DIR
--control FILE``. Each accepted message is stored as one ``.eml`` file in
the mail directory, named so that names sort by arrival. Its behaviour is
read from the JSON control file on every message, so tests and notebooks
change it without a restart::

    from course.services import mailserver
    mailserver.set_behaviour(delay_seconds=2)   # a slow provider
    mailserver.set_behaviour(refuse_next=3)     # 451 for the next three messages
    mailserver.set_behaviour(hold_seconds=30)   # store a message, then keep the sender waiting

A message counts as delivered once it is stored. During ``delay_seconds`` it
is not stored yet: a sender that goes away meanwhile delivered nothing. During
``hold_seconds`` it is stored already: a sender that goes away then never
learns that its message arrived, and may send it again.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import itertools
import os
import smtplib
import subprocess
import sys
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from course import paths, statefiles

_sequence = itertools.count()


def control_file() -> Path:
    return paths.STATE / "run" / "smtp_control.json"


def mail_dir() -> Path:
    return paths.STATE / "mail"


def answers(port: int, timeout: float = 2.0) -> bool:
    """Whether an SMTP server on 127.0.0.1:``port`` greets and answers EHLO."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=timeout) as client:
            return client.ehlo()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def _read_control(path: Path) -> dict[str, Any]:
    data = statefiles.read_json(path, {})
    return data if isinstance(data, dict) else {}


_write_json = statefiles.write_json


def set_behaviour(*, delay_seconds: float | None = None, refuse_next: int | None = None,
                  hold_seconds: float | None = None, path: Path | None = None) -> dict[str, Any]:
    """Change how the running server answers; ``None`` leaves a setting as it is."""
    path = path or control_file()
    data = _read_control(path)
    if delay_seconds is not None:
        data["delay_seconds"] = float(delay_seconds)
    if refuse_next is not None:
        data["refuse_next"] = int(refuse_next)
    if hold_seconds is not None:
        data["hold_seconds"] = float(hold_seconds)
    _write_json(path, data)
    return data


def read_behaviour(path: Path | None = None) -> dict[str, float]:
    """How the server answers now: delay_seconds, refuse_next, hold_seconds."""
    data = _read_control(path or control_file())
    return {key: float(data.get(key, 0) or 0)
            for key in ("delay_seconds", "refuse_next", "hold_seconds")}


def reset_behaviour(path: Path | None = None) -> None:
    _write_json(path or control_file(), {"delay_seconds": 0.0, "refuse_next": 0,
                                         "hold_seconds": 0.0})


def messages(folder: Path | None = None) -> list[EmailMessage]:
    """Every stored message, oldest first."""
    folder = folder or mail_dir()
    if not folder.exists():
        return []
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for path in sorted(folder.glob("*.eml"))
    ]


def repeats(found: list[EmailMessage]) -> list[bool]:
    """For each message, whether an earlier one had the same Message-ID: the same message sent
    again, which mail clients show once."""
    seen: set[str] = set()
    flags = []
    for message in found:
        key = str(message["Message-ID"] or "")
        flags.append(bool(key) and key in seen)
        seen.add(key)
    return flags


def clear(folder: Path | None = None) -> None:
    for path in (folder or mail_dir()).glob("*.eml"):
        path.unlink(missing_ok=True)


class MailboxHandler:
    """aiosmtpd handler: applies the control file, then stores the message."""

    def __init__(self, maildir: Path, control: Path) -> None:
        self.maildir = maildir
        self.control = control

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        settings = _read_control(self.control)
        delay = float(settings.get("delay_seconds", 0) or 0)
        if delay > 0:
            await asyncio.sleep(delay)
        refuse = int(settings.get("refuse_next", 0) or 0)
        if refuse > 0:
            settings["refuse_next"] = refuse - 1
            _write_json(self.control, settings)
            return "451 4.3.0 Temporary failure, try again later"
        self.maildir.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_sequence):06d}.eml"
        tmp = self.maildir / (name + ".tmp")
        tmp.write_bytes(envelope.original_content or envelope.content)
        os.replace(tmp, self.maildir / name)
        hold = float(_read_control(self.control).get("hold_seconds", 0) or 0)
        if hold > 0:
            await asyncio.sleep(hold)
        return "250 Message accepted for delivery"


def text_of(message: EmailMessage) -> str:
    """A mail's subject and every text part, decoded: what a person reads (a body may travel
    as base64 or quoted-printable)."""
    parts = [str(message["Subject"] or "")]
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and part.get_content_maintype() == "text":
            parts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(parts)


@dataclass
class PrivateServer:
    """This SMTP server in a process of its own, on a free port, with its own mailbox and
    control file: for a grader or a measurement that must not touch the learner's mailbox."""

    folder: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def control(self) -> Path:
        return self.folder / "control.json"

    @property
    def maildir(self) -> Path:
        return self.folder / "mail"

    def start(self) -> PrivateServer:
        from course.services.ports import free_port

        self.port = free_port()
        reset_behaviour(self.control)
        env = dict(os.environ, PYTHONPATH=str(paths.ROOT))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "course.services.mailserver", "--port", str(self.port),
             "--maildir", str(self.maildir), "--control", str(self.control)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

        deadline = time.monotonic() + 15
        while not answers(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the SMTP server on port {self.port} did not start")
            time.sleep(0.05)
        return self

    def behave(self, **settings: float) -> None:
        set_behaviour(path=self.control, **settings)

    def setting(self, name: str) -> float:
        return read_behaviour(self.control)[name]

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        found = messages(self.maildir)
        return [m for m in found if to is None or to in str(m["To"])]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def serve(port: int, maildir: Path, control: Path) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(MailboxHandler(maildir, control), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"SMTP server listening on 127.0.0.1:{port}, storing mail in {maildir}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", type=Path, default=mail_dir())
    parser.add_argument("--control", type=Path, default=control_file())
    args = parser.parse_args(argv)
    serve(args.port, args.maildir, args.control)


if __name__ == "__main__":
    main()
