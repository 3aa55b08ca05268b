"""Fixtures shared by the graders."""

from __future__ import annotations

from pathlib import Path

import pytest
from grading_settings import TARGET_DIR
from project_runner import ProjectRunner


@pytest.fixture(scope="session")
def target_dir() -> Path:
    """The project being graded (the learner's starter or a reference state)."""
    return TARGET_DIR


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> ProjectRunner:
    """Runs real requests through the project under dev or production settings."""
    return ProjectRunner(target=TARGET_DIR, workdir=tmp_path_factory.mktemp("project"))


@pytest.fixture
def shop(db):
    """Seed the shop in the test database: ``shop(orders=40)`` or ``shop(scale="tiny")``."""
    from shop.seed import seed_shop

    def make(scale: str = "tiny", **counts: int) -> dict[str, int]:
        return seed_shop(scale, **counts)

    return make
