"""The SMTP server stores real messages, can answer slowly and can refuse for a while."""

from __future__ import annotations

import smtplib
import socket
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from course.services import mailserver


@pytest.fixture
def server(tmp_path: Path):
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    control = tmp_path / "control.json"
    maildir = tmp_path / "mail"
    controller = Controller(mailserver.MailboxHandler(maildir, control),
                            hostname="127.0.0.1", port=port)
    controller.start()
    yield port, maildir, control
    controller.stop()


def _send(port: int, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "shop@example.com"
    message["To"] = "learner@example.com"
    message["Subject"] = subject
    message.set_content("hello")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


def test_messages_are_stored_in_arrival_order(server) -> None:
    port, maildir, _ = server
    _send(port, "first")
    _send(port, "second")
    assert [m["Subject"] for m in mailserver.messages(maildir)] == ["first", "second"]
    mailserver.clear(maildir)
    assert mailserver.messages(maildir) == []


def test_slow_mode_really_delays(server) -> None:
    port, maildir, control = server
    mailserver.set_behaviour(delay_seconds=1.0, path=control)
    started = time.monotonic()
    _send(port, "slow")
    assert time.monotonic() - started >= 1.0
    assert len(mailserver.messages(maildir)) == 1


def test_refusing_then_accepting(server) -> None:
    port, maildir, control = server
    mailserver.set_behaviour(refuse_next=2, path=control)
    for _ in range(2):
        with pytest.raises(smtplib.SMTPDataError) as refused:
            _send(port, "refused")
        assert refused.value.smtp_code == 451
    _send(port, "accepted")
    assert [m["Subject"] for m in mailserver.messages(maildir)] == ["accepted"]


def test_concurrent_messages_all_arrive(server) -> None:
    port, maildir, _ = server
    threads = [threading.Thread(target=_send, args=(port, f"m{n}")) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(mailserver.messages(maildir)) == 5


def _send_and_vanish(port: int, subject: str, after: float) -> None:
    """Send, but drop the connection ``after`` seconds into the wait for the reply."""
    message = EmailMessage()
    message["From"] = "shop@example.com"
    message["To"] = "learner@example.com"
    message["Subject"] = subject
    message.set_content("hello")
    client = smtplib.SMTP("127.0.0.1", port, timeout=after)
    with pytest.raises((TimeoutError, socket.timeout, smtplib.SMTPServerDisconnected)):
        client.send_message(message)
    client.close()


def test_a_sender_gone_during_the_delay_delivered_nothing(server) -> None:
    port, maildir, control = server
    mailserver.set_behaviour(delay_seconds=3.0, path=control)
    _send_and_vanish(port, "lost", after=0.5)
    time.sleep(3.0)
    assert mailserver.messages(maildir) == []


def test_a_sender_gone_during_the_hold_delivered_anyway(server) -> None:
    port, maildir, control = server
    mailserver.set_behaviour(hold_seconds=3.0, path=control)
    _send_and_vanish(port, "stored before the reply", after=0.5)
    assert [m["Subject"] for m in mailserver.messages(maildir)] == ["stored before the reply"]
