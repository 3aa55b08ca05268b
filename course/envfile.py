"""Read and write `.course/env`: the `KEY=value` file that tells the project where the services are."""

from __future__ import annotations

from pathlib import Path

from course import paths
from course.statefiles import write_atomically


def read(path: Path | None = None) -> dict[str, str]:
    """Return the variables in the env file; an absent file is an empty mapping."""
    path = path or paths.ENV_FILE
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip()
    return values


def update(changes: dict[str, str | None], path: Path | None = None) -> dict[str, str]:
    """Set (or, with None, remove) variables, keeping the others; written atomically."""
    path = path or paths.ENV_FILE
    values = read(path)
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# Written by `python3 -m course services`; read by the project's settings.\n"
    text += "".join(f"{key}={value}\n" for key, value in sorted(values.items()))
    write_atomically(path, text)
    return values
