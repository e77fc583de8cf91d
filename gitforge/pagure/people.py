"""Who each Pagure user is in gitforge: the --users file that maps names,
the accounts that exist, and the placeholder accounts made for the rest."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from gitforge.pagure.values import BadPagureData, ImportRefused
from gitforge.store import formats
from gitforge.store.documents import utc_now
from gitforge.store.errors import InvalidName
from gitforge.store.layout import check_name

# The account rules of SiteRepo.add_user, applied here to every placeholder
# at once so that all of them go into one commit.
from gitforge.store.site import NewUser, _refuse_kept_name, user_path

# Placeholder accounts get an address in a domain that can never receive
# mail, so nobody can claim one by its email.
PLACEHOLDER_DOMAIN = "pagure-import.invalid"


def read_users_file(path: Path) -> dict[str, str]:
    """The --users file: `pagure_name = gitforge_name` lines; blank lines and
    everything after a `#` are left out."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ImportRefused(f"cannot read {path}: {err}") from None
    mapping: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pagure_name, sep, gitforge_name = (part.strip() for part in line.partition("="))
        if not sep or not pagure_name or not gitforge_name:
            raise ImportRefused(
                f"{path}, line {number}: write `pagure_name = gitforge_name`"
            )
        if pagure_name in mapping:
            raise ImportRefused(f"{path}, line {number}: {pagure_name} is mapped twice")
        mapping[pagure_name] = gitforge_name
    return mapping


class People:
    """Who each Pagure user is in gitforge: the name the --users map gives,
    else the Pagure name; the account of that name (in any case) if there
    is one, else a placeholder account to make."""

    def __init__(self, mapping: dict[str, str], accounts: list[str]):
        self.mapping = mapping
        self.accounts = {name.lower(): name for name in accounts}
        self.placeholders: dict[str, str] = {}  # name -> full name

    def resolve(self, pagure_name: str) -> str:
        wanted = self.mapping.get(pagure_name, pagure_name)
        return self.accounts.get(wanted.lower(), wanted)

    def name_of(self, user: object, where: str, field: str) -> str:
        pagure_name, full_name = user_fields(user, where, field)
        name = self.resolve(pagure_name)
        if name.lower() not in self.accounts:
            self.placeholders.setdefault(name, _clean_full_name(full_name))
        return name

    def optional(self, user: object, where: str, field: str) -> str | None:
        return None if user is None else self.name_of(user, where, field)

    def placeholder_problems(self) -> list[str]:
        """Names no account can have, each with the reason."""
        problems, seen = [], {}
        for name in sorted(self.placeholders):
            try:
                check_name("user", name)
                _refuse_kept_name(NewUser(name, placeholder_email(name)))
            except InvalidName as err:
                problems.append(f"{name} ({err.reason})")
            if name.lower() in seen:
                problems.append(
                    f"{name} (differs from {seen[name.lower()]} only in case)"
                )
            seen[name.lower()] = name
        return problems


def user_fields(user: object, where: str, field: str) -> tuple[str, str]:
    """(name, full name) of a Pagure user object (`{"name", "fullname",
    ...}`); a bare name is taken too."""
    if isinstance(user, str) and user:
        return user, ""
    if isinstance(user, dict) and isinstance(user.get("name"), str) and user["name"]:
        full_name = user.get("fullname")
        return user["name"], full_name if isinstance(full_name, str) else ""
    raise BadPagureData(where, field, "must be a Pagure user with a name")


def _clean_full_name(full_name: str) -> str:
    kept = "".join(
        ch
        for ch in full_name
        if ch not in "<>" and unicodedata.category(ch) not in ("Cc", "Zl", "Zp")
    )
    return kept.strip()[:255]


def placeholder_email(name: str) -> str:
    return f"{name}@{PLACEHOLDER_DOMAIN}"


def placeholder_doc(name: str, full_name: str) -> dict:
    doc = {
        "format": formats.FORMAT_VERSION,
        "name": name,
        "full_name": full_name,
        "emails": [placeholder_email(name)],
        "password": None,  # cannot log in
        "admin": False,
        "created": utc_now(),
    }
    return formats.check("user", user_path(name), doc)
