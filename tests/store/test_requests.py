"""The request repo: pull requests, comments, flags and updates in git."""

from __future__ import annotations

import threading

import pytest

from gitforge.store.documents import Identity
from gitforge.store.errors import FormatError, NotFound
from gitforge.store.requests import RequestRepo, flag_uid, request_path
from gitforge.store.tickets import TicketRepo

ANN = Identity("ann", "ann@example.org")
BOB = Identity("bob", "bob@example.org")
HEAD, BASE = "a" * 40, "b" * 40


@pytest.fixture
def requests(tmp_path):
    with RequestRepo.create(tmp_path / "requests.git") as repo:
        yield repo


def _open(requests, number=1, **fields):
    values = dict(title="Add a feature", source_repo="foo", source_branch="feature",
                  target_branch="main", base=BASE, head=HEAD)  # fmt: skip
    return requests.open_request(ANN, number, **{**values, **fields})


def test_a_pull_request_is_a_document_in_its_folder(requests):
    made = _open(requests, description="Please *merge*")
    stored = requests.request(made["uid"])
    assert stored == made
    assert stored["status"] == "Open" and stored["number"] == 1
    assert requests.snapshot().exists(request_path(made["uid"]))
    assert requests.tip().author.name == "ann"


@pytest.mark.parametrize(
    "field, value, problem",
    [
        ("source_branch", "-delete", "must not start with '-'"),
        ("target_branch", "a\nb", "must not contain control characters"),
        ("head", "abc", "must be a full commit id"),
        ("source_repo", "../etc", "must name a project or fork"),
        ("title", "", "must not be empty"),
    ],
)
def test_bad_fields_are_refused_before_anything_is_written(
    requests, field, value, problem
):
    tip = requests.tip().id
    with pytest.raises(FormatError, match=problem):
        _open(requests, **{field: value})
    assert requests.tip().id == tip


def test_comments_general_and_inline_keep_their_place(requests):
    made = _open(requests)
    inline = {"commit": HEAD, "path": "src/ä b.py", "line": 3, "side": "new"}
    requests.add_comment(made["uid"], BOB, "Looks good")
    requests.add_comment(made["uid"], ANN, "Typo here", inline=inline)
    comments = requests.comments(made["uid"])
    assert [c["body"] for c in comments] == ["Looks good", "Typo here"]
    assert comments[0]["inline"] is None and comments[1]["inline"] == inline


def test_inline_comment_needs_a_real_line(requests):
    made = _open(requests)
    inline = {"commit": HEAD, "path": "x", "line": 0, "side": "new"}
    with pytest.raises(FormatError, match="field 'line' must be 1 or more"):
        requests.add_comment(made["uid"], BOB, "?", inline=inline)


def test_a_flag_posted_again_is_updated_not_repeated(requests):
    made = _open(requests)
    first = requests.set_flag(made["uid"], BOB, name="ci", status="pending",
                              percent=None, comment="running", url=None)  # fmt: skip
    again = requests.set_flag(made["uid"], BOB, name="ci", status="success",
                              percent=100, comment="passed",
                              url="https://ci.example.org/1")  # fmt: skip
    other = requests.set_flag(made["uid"], ANN, name="ci", status="failure",
                              percent=None, comment="", url=None)  # fmt: skip
    flags = requests.flags(made["uid"])
    assert len(flags) == 2
    mine = next(f for f in flags if f["username"] == "bob")
    assert mine["status"] == "success" and mine["created"] == first["created"]
    assert mine["uid"] == flag_uid("bob", "ci") == again["uid"] != other["uid"]


def test_flag_with_javascript_url_is_refused(requests):
    made = _open(requests)
    with pytest.raises(FormatError, match="must be an http or https URL"):
        requests.set_flag(made["uid"], BOB, name="ci", status="success",
                          percent=None, comment="",
                          url="javascript:alert(1)")  # fmt: skip


def test_merging_sets_status_and_commit_together(requests):
    made = _open(requests)
    with pytest.raises(FormatError, match="merge_commit"):
        requests.edit(made["uid"], BOB, {"status": "Merged"}, "Merge")
    merged = requests.edit(made["uid"], BOB, {"status": "Merged", "merge_commit": HEAD,
                           "closed_by": "bob", "closed_at": made["created"]},
                           "Merge")  # fmt: skip
    assert requests.request(made["uid"])["status"] == "Merged" == merged["status"]


def test_only_people_fields_are_editable_by_update(requests):
    made = _open(requests)
    with pytest.raises(FormatError, match="'status': is not editable"):
        requests.update_request(made["uid"], BOB, status="Merged")
    requests.update_request(made["uid"], BOB, tags=["b", "a", "b"], title="New")
    assert requests.request(made["uid"])["tags"] == ["a", "b"]


def test_updates_record_each_move_of_the_branch(requests):
    made = _open(requests)
    requests.record_update(made["uid"], BOB, old_head=HEAD, new_head=BASE, forced=True)
    [update] = requests.updates(made["uid"])
    assert update["forced"] is True and update["new_head"] == BASE


def test_missing_pull_request(requests):
    with pytest.raises(NotFound):
        requests.add_comment("0" * 32, BOB, "hello?")


def test_tickets_and_pull_requests_share_one_sequence(tmp_path):
    with TicketRepo.create(tmp_path / "tickets.git") as tickets:
        assert tickets.create_ticket(ANN, "A ticket")["number"] == 1
        assert tickets.take_number(ANN, "pull request") == 2
        assert tickets.create_ticket(ANN, "Another")["number"] == 3


def test_numbers_taken_at_once_are_all_different(tmp_path):
    with TicketRepo.create(tmp_path / "tickets.git") as tickets:
        taken = []

        def take():
            with TicketRepo(tickets.path) as mine:
                taken.append(mine.take_number(ANN, "pull request"))

        threads = [threading.Thread(target=take) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(taken) == list(range(1, 9))
