"""lab starts JupyterLab with the course's settings."""

from __future__ import annotations

from pathlib import Path


def test_the_labs_news_pop_up_is_off_and_other_settings_kept(tmp_path: Path) -> None:
    import json

    from course.setup import lab

    path = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "dark"}}))
    assert lab.write_lab_settings(tmp_path) == path
    written = json.loads(path.read_text())
    assert written["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert written["@jupyterlab/apputils-extension:themes"] == {"theme": "dark"}
