"""Import a Pagure project's tickets and pull requests (`gitforge import
pagure`).

Pagure keeps each ticket and each pull request of a project as one JSON
file, named by the item's uid, at the root of the project's ticket repo and
request repo (what its `to_json()` gives), and the files attached to
tickets in the ticket repo's `files/` folder. The import reads both repos
from their default branch with pygit2, turns every item into gitforge
documents (docs/import-pagure.md gives the mapping) and checks each with
formats.check, and the numbers against the project's, before it writes
anything. Then it writes the placeholder accounts in one commit of the site
repo, one commit in each of the project's ticket and request repos, and
syncs the index.

Running it again adds what is missing and nothing else: a gitforge uid is
the Pagure uid (or made from it), and a file the project already has is
never rewritten, so what changed in gitforge since the first import stays.

What is where:
- reading: a Pagure ticket or request repo, read into items and files;
- values: Pagure's values checked or cleaned, and the import's errors and
  warnings;
- people: the --users file, who each Pagure user is, placeholder accounts;
- conversion: what converting a ticket and a pull request share;
- ticket_conversion, request_conversion: one kind of item each;
- code_commits: the project's code repo as pull requests see it;
- numbering: imported numbers against the project's;
- importing: import_pagure() itself, its writes and its report.
"""

from gitforge.pagure.importing import ImportReport, import_pagure
from gitforge.pagure.people import read_users_file
from gitforge.pagure.values import BadPagureData, ImportRefused

__all__ = [
    "BadPagureData",
    "ImportRefused",
    "ImportReport",
    "import_pagure",
    "read_users_file",
]
