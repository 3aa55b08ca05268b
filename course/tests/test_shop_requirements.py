"""The shop's own requirements (starter_project/requirements.txt, what a server or a CI runner
installs) pin every package exactly as the course's requirements.txt does: one stack."""

from __future__ import annotations

from course import paths


def _requirements(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_the_shops_pins_are_the_courses() -> None:
    course = set(_requirements((paths.ROOT / "requirements.txt").read_text()))
    shop = _requirements((paths.STARTER / "requirements.txt").read_text())
    assert shop, "starter_project/requirements.txt lists nothing"
    differ = [line for line in shop if line not in course]
    assert not differ, f"pinned differently from requirements.txt: {differ}"
    assert all("==" in line for line in shop), "every requirement of the shop is pinned (==)"
