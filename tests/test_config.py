from __future__ import annotations

from pathlib import Path

from gitforge.config import SETTINGS, Config

EXAMPLE = Path(__file__).parent.parent / "docs" / "gitforge.cfg.example"


def test_config_file_then_environment(tmp_path, monkeypatch):
    (tmp_path / "gitforge.cfg").write_text(
        "[gitforge]\nsite_name = From the file\nregistration = closed\n"
    )
    monkeypatch.setenv("GITFORGE_SITE_NAME", "From the environment")
    config = Config.load(tmp_path)
    assert config.get("site_name") == "From the environment"
    assert config.get("registration") == "closed"
    assert config.database_url == f"sqlite:///{tmp_path.resolve()}/index/index.db"


def test_config_example_lists_every_setting():
    text = EXAMPLE.read_text()
    for setting in SETTINGS:
        assert f"# {setting.name} = {setting.default}" in text
