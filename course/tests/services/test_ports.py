"""Choosing ports: several at once are all different, and never one already promised."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from course import paths
from course.services import ports
from course.services.plugins import objectstore


def test_ports_chosen_together_are_all_different() -> None:
    chosen = ports.free_ports(40)
    assert len(set(chosen)) == 40
    assert all(ports.port_is_free(port) for port in chosen)


def test_ports_already_promised_are_not_chosen_again() -> None:
    promised = ports.free_ports(40)
    again = ports.free_ports(40, avoiding=promised)
    assert not set(again) & set(promised)


def test_a_busy_saved_port_is_replaced_by_one_no_other_instance_holds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "STATE", tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        taken = busy.getsockname()[1]
        others = ports.free_ports(30)
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "ports.json").write_text(json.dumps(
            {"redis": taken, **{f"web-{n}": port for n, port in enumerate(others)}}))
        chosen = ports.choose({"redis": taken, "smtp": others[0]}, running=set(), quiet=True)
    assert chosen["redis"] != taken
    assert chosen["redis"] not in others
    assert chosen["smtp"] == others[0]


def test_object_store_side_ports_are_chosen_again_when_two_were_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SeaweedFS's filer once got the master's gRPC port, and never started."""
    monkeypatch.setattr(paths, "STATE", tmp_path)
    store = objectstore.ObjectStore()
    folder = tmp_path / "data" / "objectstore"
    folder.mkdir(parents=True)
    first, second = ports.free_ports(2)
    clashing = {name: first for name in objectstore.SIDE_PORTS}
    (folder / "ports.json").write_text(json.dumps(clashing))
    side = store.side_ports(second)
    assert len(set(side.values())) == len(objectstore.SIDE_PORTS)
    assert second not in side.values()
    assert store.side_ports(second) == side  # kept once they are sound
    assert store.side_ports(side["filer"]) != side  # the S3 port took one of them: chosen again
