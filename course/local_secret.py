"""The secret key of the shop's production processes that the course runs on this machine
(the app servers of ``services up``, the notebooks' measurements): the one in the
environment when ``DJANGO_SECRET_KEY`` is set, else one made for this course home and kept in
``.course/secret_key``, outside the repository. The production settings refuse to start
without a strong key (chapter 12), as they should on any real platform."""

from __future__ import annotations

import os
import secrets

from course import paths

FILE_NAME = "secret_key"


def secret_key() -> str:
    """``DJANGO_SECRET_KEY`` from the environment, else this home's own, made on first use."""
    if os.environ.get("DJANGO_SECRET_KEY"):
        return os.environ["DJANGO_SECRET_KEY"]
    path = paths.STATE / FILE_NAME
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        made = path.with_name(f".{FILE_NAME}-{os.getpid()}")
        made.write_text(secrets.token_urlsafe(50) + "\n", encoding="utf-8")
        made.chmod(0o600)
        try:
            os.link(made, path)  # the first process to get here makes it; the rest read it
        except FileExistsError:
            pass
        made.unlink()
    return path.read_text(encoding="utf-8").strip()
