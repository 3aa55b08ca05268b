"""`course mail` changes how the course's SMTP server answers and lists what arrived."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from course import paths


def _mail(home: Path, *args: str) -> str:
    env = dict(os.environ, COURSE_HOME=str(home), PYTHONPATH=str(paths.ROOT))
    result = subprocess.run([sys.executable, "-m", "course", "mail", *args], env=env,
                            capture_output=True, text=True, timeout=60, check=True)
    return result.stdout


def test_behaviour_is_written_shown_and_reset(tmp_path: Path) -> None:
    home = tmp_path / "state"
    out = _mail(home, "--delay", "2", "--refuse", "3")
    control = json.loads((home / "run" / "smtp_control.json").read_text())
    assert control["delay_seconds"] == 2.0 and control["refuse_next"] == 3
    assert "delay_seconds 2" in out and "refuse_next 3" in out
    assert "answers at once" in _mail(home, "--normal")


def test_messages_are_listed_newest_last_and_cleared(tmp_path: Path) -> None:
    home = tmp_path / "state"
    mail = home / "mail"
    mail.mkdir(parents=True)
    for number in (1, 2):
        (mail / f"0000{number}.eml").write_text(
            f"To: someone@example.com\nSubject: order #{number}\nMessage-ID: <m{number}@x>\n\nhi\n")
    listed = _mail(home, "--last", "1")
    assert "2 message(s)" in listed and "order #2" in listed and "order #1" not in listed
    assert "0 message(s)" in _mail(home, "--clear")


def test_a_message_sent_again_is_marked_as_a_repeat(tmp_path: Path) -> None:
    home = tmp_path / "state"
    mail = home / "mail"
    mail.mkdir(parents=True)
    for number, message_id in enumerate(("<a@x>", "<b@x>", "<a@x>")):
        (mail / f"0000{number}.eml").write_text(
            f"To: someone@example.com\nSubject: order #{number}\nMessage-ID: {message_id}\n\nhi\n")
    listed = _mail(home).splitlines()
    assert "3 message(s), 2 distinct" in listed[1]
    assert [line.endswith("(again: a mailbox shows it once)") for line in listed[2:]] == [
        False, False, True]
