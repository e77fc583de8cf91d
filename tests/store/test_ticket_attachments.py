"""Ticket attachments in the store: names, sizes, one commit each."""

from __future__ import annotations

import pytest

from gitforge.store import formats
from gitforge.store.documents import Identity, uid_folder
from gitforge.store.errors import FormatError, NotFound
from gitforge.store.tickets import TicketRepo, attachment_name

ALICE = Identity("alice", "alice@example.org")


@pytest.fixture
def repo(tmp_path):
    with TicketRepo.create(tmp_path / "tickets.git") as tickets:
        yield tickets


@pytest.fixture
def uid(repo):
    return repo.create_ticket(ALICE, "With files")["uid"]


def test_attach_writes_the_bytes_in_one_commit(repo, uid):
    before = repo.tip().id
    name = repo.attach(uid, ALICE, "log.txt", b"line 1\n")
    tip = repo.tip()
    assert name == "log.txt"
    assert tip.parents[0].id == before
    assert tip.author.name == "alice"
    assert tip.tree[f"{uid_folder(uid)}/files/log.txt"].data == b"line 1\n"
    assert repo.attachments(uid) == [("log.txt", 7)]
    assert repo.attachment(uid, "log.txt") == b"line 1\n"


def test_a_clash_gets_a_counter_before_the_extension(repo, uid):
    names = [repo.attach(uid, ALICE, "shot.png", bytes([n])) for n in range(3)]
    assert names == ["shot.png", "shot (2).png", "shot (3).png"]
    assert repo.attachment(uid, "shot (3).png") == b"\x02"


@pytest.mark.parametrize(
    "sent, stored",
    [
        ("../../x", "x"),
        ("a/b", "b"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("bad\x00na\x1bme\n.txt", "badname.txt"),
        ("  spaced.txt ", "spaced.txt"),
    ],
)
def test_names_lose_their_folders_and_control_characters(sent, stored):
    assert attachment_name(sent) == stored


@pytest.mark.parametrize("sent", ["", ".", "..", ".git", "a/.git", "../..", "\x00"])
def test_hidden_and_empty_names_are_refused(repo, uid, sent):
    before = repo.tip().id
    with pytest.raises(FormatError):
        repo.attach(uid, ALICE, sent, b"x")
    assert repo.tip().id == before


def test_long_names_are_cut_to_200_bytes_keeping_the_extension(repo, uid):
    long = "é" * 300 + ".txt"
    first = repo.attach(uid, ALICE, long, b"1")
    second = repo.attach(uid, ALICE, long, b"2")
    for name in (first, second):
        assert len(name.encode()) <= 200 and name.endswith(".txt")
    assert second == first[: -len(".txt")] + " (2).txt"


def test_too_large_is_refused_and_nothing_is_written(repo, uid, monkeypatch):
    monkeypatch.setattr(formats, "MAX_ATTACHMENT_BYTES", 10)
    before = repo.tip().id
    with pytest.raises(FormatError, match="11 bytes; an attachment holds at most 10"):
        repo.attach(uid, ALICE, "big.bin", b"x" * 11)
    assert repo.tip().id == before
    assert repo.attach(uid, ALICE, "fits.bin", b"x" * 10) == "fits.bin"


def test_attaching_to_a_missing_ticket_is_refused(repo):
    with pytest.raises(NotFound):
        repo.attach("0" * 32, ALICE, "x.txt", b"x")


@pytest.mark.parametrize("asked", ["..", ".", "", "a/b", "../ticket.json", "x\x00"])
def test_reading_outside_the_folder_finds_nothing(repo, uid, asked):
    repo.attach(uid, ALICE, "x", b"x")
    assert repo.attachment(uid, asked) is None


def test_a_clash_on_a_name_of_200_bytes_stays_within_200(repo, uid):
    exact = "a" * 196 + ".txt"
    assert repo.attach(uid, ALICE, exact, b"1") == exact
    second = repo.attach(uid, ALICE, exact, b"2")
    assert len(second.encode()) <= 200 and second.endswith(" (2).txt")
