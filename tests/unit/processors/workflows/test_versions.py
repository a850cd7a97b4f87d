"""The build step's version records: edits in a row stack, a redelivery repeats itself."""

from __future__ import annotations

from processors.workflows.versions import KEEP, VersionRecords, WorkflowVersions


def _wf(version: int, note: str = "") -> dict:
    return {"id": "wf-1", "version": version, "name": f"v{version}{note}"}


def test_a_second_edit_builds_on_the_first() -> None:
    book = WorkflowVersions()
    assert book.base_for("create") == (None, None)
    book.record("create", _wf(1), b"out-create")
    base, replayed = book.base_for("edit-1")
    assert base == _wf(1) and replayed is None
    book.record("edit-1", _wf(2), b"out-1")
    base, replayed = book.base_for("edit-2")
    assert base == _wf(2) and replayed is None  # not v1: the edit is not lost


def test_a_redelivered_analysis_rebuilds_on_its_first_base() -> None:
    book = WorkflowVersions()
    book.record("create", _wf(1), b"out-create")
    book.record("edit-1", _wf(2), b"out-1")
    book.record("edit-2", _wf(3), b"out-2")
    assert book.base_for("edit-1") == (_wf(1), 2)
    assert book.base_for("create") == (None, 1)
    assert book.replayed("edit-1") == b"out-1"  # answered with its first event
    book.record("edit-1", _wf(2), b"out-1")  # recording the replay again changes nothing
    assert book.latest == 3 and book.base_for("edit-3") == (_wf(3), None)


def test_a_redelivered_first_edit_of_a_looked_up_workflow_finds_its_base() -> None:
    """Found in review: the first edit of a workflow read from Postgres (v5 -> v6) recorded
    only v6, so its redelivery found no base and was rejected as naming no workflow."""
    book = WorkflowVersions()
    book.remember(_wf(5))
    assert book.base_for("edit") == (_wf(5), None)
    book.record("edit", _wf(6), b"out-6")
    assert book.base_for("edit") == (_wf(5), 6)


def test_tenants_never_share_a_record() -> None:
    records = VersionRecords()
    records.of("dealer-a").record("create", _wf(1), b"out")
    restored = VersionRecords.load(records.dump())
    assert restored.of("dealer-a").base_for("edit") == (_wf(1), None)
    assert restored.of("dealer-b").base_for("edit") == (None, None)


def test_the_record_stays_bounded() -> None:
    book = WorkflowVersions()
    for v in range(1, 40):
        book.record(f"a{v}", _wf(v), b"x" * v)
    assert len(book.definitions) == KEEP and book.latest == 39
    assert len(book.applied) <= 32 and len(book.outputs) == 4
    assert book.replayed("a39") == b"x" * 39
    assert book.replayed("a30") is None
    assert VersionRecords.load(VersionRecords(tenants={"t": book}).dump()).tenants["t"] == book
