"""Site configuration, declared once.

Every setting has a name, a default and a help text. Values come from the
`[gitforge]` section of `<home>/gitforge.cfg`, and an environment variable
`GITFORGE_<NAME>` (upper case) overrides the file.
"""

from __future__ import annotations

import configparser
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = "./gitforge-data"


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS = (
    Setting(
        "database_url",
        "",
        "SQLAlchemy URL of the index database; empty means SQLite in <home>/index.",
    ),
    Setting(
        "redis_url",
        "",
        "Redis URL for the task queue; empty means Huey on SQLite in <home>/queue.",
    ),
    Setting(
        "queue_name",
        "gitforge",
        "Name of the task queue; sites sharing one Redis need different names.",
    ),
    Setting("site_url", "", "Public base URL of the forge, used in clone URLs."),
    Setting("site_name", "gitforge", "Name shown in page titles."),
    Setting("git_binary", "git", "The git executable used for packs and imports."),
    Setting(
        "max_render_bytes",
        "1000000",
        "Files and diffs larger than this get a summary and a raw link.",
    ),
    Setting(
        "registration",
        "open",
        "Whether anyone may register an account: open or closed.",
    ),
    Setting(
        "reconcile",
        "on",
        "Whether serve and worker watch the repositories and sync branches moved "
        "without a hook (restores, mirrors, git update-ref): on or off.",
    ),
    Setting(
        "gitolite",
        "off",
        "Whether git over ssh goes through gitolite, whose rules and keys follow "
        "every change of the site repo (see docs/ssh.md): on or off.",
    ),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}
_ON = {"on", "true", "yes", "1"}
_OFF = {"off", "false", "no", "0"}


class Config:
    """The settings of one data home."""

    def __init__(self, home: str | os.PathLike, values: dict[str, str] | None = None):
        self.home = Path(home).resolve()
        self._values = dict(values or {})

    @classmethod
    def load(cls, home: str | os.PathLike | None = None) -> Config:
        """Read `gitforge.cfg` of the home, then the environment overrides."""
        home = home or os.environ.get("GITFORGE_HOME") or DEFAULT_HOME
        config = cls(home)
        parser = configparser.ConfigParser()
        parser.read(config.home / "gitforge.cfg", encoding="utf-8")
        if parser.has_section("gitforge"):
            for name, value in parser.items("gitforge"):
                config._values[name] = value
        for setting in SETTINGS:
            env_value = os.environ.get("GITFORGE_" + setting.name.upper())
            if env_value is not None:
                config._values[setting.name] = env_value
        return config

    def get(self, name: str) -> str:
        if name not in _BY_NAME:
            raise KeyError(f"unknown setting {name!r}")
        return self._values.get(name, _BY_NAME[name].default)

    def get_int(self, name: str) -> int:
        return int(self.get(name))

    def get_switch(self, name: str) -> bool:
        """An on/off setting; a value that is neither is refused (with a
        ValueError saying so) rather than guessed."""
        value = self.get(name).strip().lower()
        if value in _ON | _OFF:
            return value in _ON
        raise ValueError(f"setting {name} is {self.get(name)!r}: use on or off")

    @property
    def repositories(self) -> Path:
        return self.home / "repositories"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def queue_dir(self) -> Path:
        return self.home / "queue"

    @property
    def database_url(self) -> str:
        return self.get("database_url") or f"sqlite:///{self.index_dir / 'index.db'}"

    def secret_key(self) -> str:
        """The key that signs session cookies, made on first use.

        Losing it only logs everybody out, so it lives beside the index
        rather than in git.
        """
        path = self.index_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it just now
                pass
            else:
                with os.fdopen(fd, "w") as out:
                    out.write(secrets.token_hex(32))
        return path.read_text().strip()
