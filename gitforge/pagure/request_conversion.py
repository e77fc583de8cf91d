"""Turning a Pagure pull request into gitforge documents: the pull
request with its branches and commits, its comments (inline where they
fit) and its CI flags."""

from __future__ import annotations

import re

import pygit2

from gitforge.pagure.code_commits import CodeCommits
from gitforge.pagure.conversion import Conversion, Planned
from gitforge.pagure.people import People, user_fields
from gitforge.pagure.reading import PagureItem
from gitforge.pagure.values import (
    REQUEST,
    BadPagureData,
    Warnings,
    checked,
    one_line,
    pagure_time,
    text,
    whole_number,
)
from gitforge.store import formats
from gitforge.store.documents import Content
from gitforge.store.errors import InvalidName
from gitforge.store.layout import fork_fullname
from gitforge.store.requests import flag_uid, part_path, request_path

_COMMIT = re.compile(r"[0-9a-f]{40}")


class RequestConversion(Conversion):
    """Turns Pagure pull requests into gitforge documents for project
    `fullname`, whose code repo is `code` (None if it has none) and whose
    forks are among `projects`."""

    def __init__(
        self,
        fullname: str,
        people: People,
        warnings: Warnings,
        code: pygit2.Repository | None,
        projects: set[str],
    ):
        super().__init__(fullname, people, warnings)
        self.commits = CodeCommits(code)
        self.projects = projects

    def request(self, item: PagureItem) -> Planned:
        data, where, uid = item.data, item.label, item.uid
        status = request_status(data.get("status"), where)
        target = text(data.get("branch"), where, "branch")
        base, head = self._commit_range(data, target, where)
        doc = {
            "format": formats.FORMAT_VERSION,
            "uid": uid,
            "number": whole_number(data.get("id"), where, "id"),
            "title": self._title(data, where),
            "description": text(data.get("initial_comment"), where, "initial_comment"),
            "author": self.people.name_of(data.get("user"), where, "user"),
            "created": pagure_time(data.get("date_created"), where, "date_created"),
            "status": status,
            "source_repo": self._source_repo(data, where),
            "source_branch": text(data.get("branch_from"), where, "branch_from"),
            "target_branch": target,
            "base": base,
            "head": head,
            "merge_status": None,
            "merge_commit": self.commits.merge_commit(target, head)
            if status == "Merged"
            else None,
            "closed_by": self.people.optional(
                data.get("closed_by"), where, "closed_by"
            ),
            "closed_at": None if status == "Open" else self._closed_at(data, where),
            "tags": self._tags(data.get("tags"), where),
            "assignee": self.people.optional(data.get("assignee"), where, "assignee"),
        }
        files: dict[str, Content] = {
            request_path(uid): checked("request", request_path(uid), doc, where)
        }
        for index, raw in enumerate(self._list(data, "comments", where)):
            note = self._request_comment(item, raw, index)
            path = part_path(uid, "comments", note["uid"])
            files[path] = checked("request_comment", path, note, where)
        files.update(self._flags(item))
        return Planned(REQUEST, uid, doc["number"], where, files)

    def _request_comment(self, item: PagureItem, raw: dict, index: int) -> dict:
        note = self._comment(item, raw, index)
        note["inline"] = None
        commit, path, line = raw.get("commit"), raw.get("filename"), raw.get("line")
        if not (commit and path and line):
            return note
        inline = {
            "commit": str(commit).lower(),
            "path": path,
            "line": line,
            "side": "new",
        }
        problem = formats.SPECS["request_comment"]["inline"].check(inline)
        if problem is None:
            note["inline"] = inline
            return note
        self.warnings.add(
            f"{item.label}, comment {raw.get('id')}: its place "
            f"({problem}) does not fit; kept as a general comment"
        )
        note["body"] = f"(On {path}, line {line}, commit {commit}.)\n\n{note['body']}"
        return note

    def _flags(self, item: PagureItem) -> dict[str, dict]:
        """CI flags, if the pull request's JSON carries any (Pagure's own
        to_json does not: see docs/import-pagure.md). The latest of one
        poster's flags of one name wins."""
        flags: dict[str, dict] = {}
        for raw in self._list(item.data, "flags", item.label):
            where = f"{item.label}, flag {raw.get('username')!r}"
            doc = self._flag(raw, where)
            path = part_path(item.uid, "flags", doc["uid"])
            if path not in flags or flags[path]["updated"] <= doc["updated"]:
                flags[path] = checked("flag", path, doc, where)
        return flags

    def _flag(self, raw: dict, where: str) -> dict:
        poster = self.people.name_of(raw.get("user"), where, "user")
        name = one_line(raw.get("username"), where, "username", self.warnings)
        created = pagure_time(raw.get("date_created"), where, "date_created")
        updated = raw.get("date_updated")
        url = raw.get("url") or None
        if url is not None and formats.SPECS["flag"]["url"].check(str(url)):
            self.warnings.add(
                f"{where}: url {str(url)[:80]!r} is not an http(s) URL; left out"
            )
            url = None
        percent = raw.get("percent")
        return {
            "format": formats.FORMAT_VERSION,
            "uid": flag_uid(poster, name),
            "username": poster,
            "name": name,
            "status": str(raw.get("status", "")).lower(),
            "percent": None
            if percent in (None, "")
            else whole_number(percent, where, "percent"),
            "comment": one_line(raw.get("comment"), where, "comment", self.warnings),
            "url": url,
            "created": created,
            "updated": pagure_time(updated, where, "date_updated")
            if updated
            else created,
        }

    def _closed_at(self, data: dict, where: str) -> str:
        """When it was closed; older Pagure did not record it, and then its
        last update stands in."""
        for key in ("closed_at", "last_updated", "updated_on", "date_created"):
            if data.get(key):
                return pagure_time(data[key], where, key)
        raise BadPagureData(where, "closed_at", "is missing")

    def _source_repo(self, data: dict, where: str) -> str:
        """The project or fork the branch is in: Pagure's fork of a user is
        gitforge's `forks/<user>/<project>` if that exists; otherwise the
        branch is recorded as one of the project itself."""
        origin = data.get("repo_from")
        branch = data.get("branch_from")
        if not isinstance(origin, dict):
            came_from = data.get("remote_git") or "a repo Pagure did not record"
            self.warnings.add(
                f"{where}: branch {branch!r} came from {came_from}; "
                f"recorded as a branch of {self.fullname}"
            )
            return self.fullname
        if not origin.get("parent"):
            return self.fullname
        owner = user_fields(origin.get("user"), where, "repo_from.user")[0]
        try:
            fork = fork_fullname(self.people.resolve(owner), self.fullname)
        except InvalidName:
            fork = None
        if fork in self.projects:
            return fork
        pagure_fork = origin.get("fullname") or f"{owner}'s fork"
        self.warnings.add(
            f"{where}: {pagure_fork} has no gitforge fork "
            f"({fork or 'no valid name'}); branch {branch!r} is "
            f"recorded as a branch of {self.fullname}"
        )
        return self.fullname

    def _commit_range(self, data: dict, target: str, where: str) -> tuple[str, str]:
        """(base, head). Pagure's commit_start is the branch's first commit,
        so the base is its parent when the code repo has it; a missing
        commit_start or commit_stop is filled with the target branch's tip."""
        start, stop = (
            _commit_id(data.get("commit_start")),
            _commit_id(data.get("commit_stop")),
        )
        tip = None
        if start is None or stop is None:
            tip = self.commits.tip(target)
            if tip is None:
                raise BadPagureData(
                    where,
                    "commit_start" if start is None else "commit_stop",
                    f"is missing, and {self.fullname} has no branch {target!r} whose "
                    "tip could stand in (import the code first)",
                )
            self.warnings.add(
                f"{where}: Pagure recorded no commit_start or "
                f"commit_stop; filled with the tip of {target} "
                f"({tip[:12]})"
            )
        head = stop or tip
        base = self.commits.parent_of(start) if start else tip
        if not (self.commits.has(base) and self.commits.has(head)):
            self.warnings.add(
                f"{where}: its commits are not in {self.fullname}'s "
                "code repo; its diff shows once they are"
            )
        return base, head


def request_status(value: object, where: str) -> str:
    """Open, Merged or Closed; very old Pagure wrote true (open) and false
    (merged)."""
    if value is True or str(value).lower() == "true":
        return "Open"
    if value is False or str(value).lower() == "false":
        return "Merged"
    if value in formats.REQUEST_STATUSES:
        return value
    raise BadPagureData(where, "status", f"is {value!r}, not Open, Merged or Closed")


def _commit_id(value: object) -> str | None:
    if isinstance(value, str) and _COMMIT.fullmatch(value.lower()):
        return value.lower()
    return None
