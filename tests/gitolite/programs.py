"""The system programs the gitolite tests need, or a skip naming their
Debian packages (a failure under CI=true, where they must be there)."""

from __future__ import annotations

import os
import shutil

import pytest

SBIN = "/usr/sbin:/usr/local/sbin"


def sshd_program() -> str | None:
    return shutil.which("sshd", path=f"{os.environ.get('PATH', '')}:{SBIN}")


def need(*programs: str) -> None:
    """Skip (or under CI fail) unless each program is installed."""
    found = {
        "gitolite": shutil.which("gitolite"),
        "sshd": sshd_program(),
        "ssh": shutil.which("ssh"),
        "ssh-keygen": shutil.which("ssh-keygen"),
    }
    missing = [p for p in programs if not found[p]]
    if not missing:
        return
    message = (
        f"{', '.join(missing)} not installed: apt-get install gitolite3 "
        "openssh-server openssh-client"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
