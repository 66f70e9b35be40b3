"""The readiness decision: deploy READY once, wait on pending, give up on failed registrations."""

from __future__ import annotations

from core_assets.release.readiness import ReadinessCursor, decide


def test_ready_version_is_deployed_once():
    first = decide(ReadinessCursor(), ["1"], {"1": "READY"}.get)
    assert first.deploy == ["1"]
    again = decide(first.cursor, ["1"], {"1": "READY"}.get)
    assert again.deploy == [] and again.waiting == {}


def test_pending_version_waits_then_deploys():
    statuses = {"2": "PENDING_REGISTRATION"}
    waiting = decide(ReadinessCursor(), ["2"], statuses.get)
    assert waiting.deploy == [] and waiting.waiting == {"2": "PENDING_REGISTRATION"}
    assert waiting.cursor.pending == ["2"]
    statuses["2"] = "READY"
    assert decide(waiting.cursor, [], statuses.get).deploy == ["2"]


def test_failed_registration_is_given_up():
    decision = decide(ReadinessCursor(pending=["3"]), [], {"3": "FAILED_REGISTRATION"}.get)
    assert decision.failed == ["3"] and decision.deploy == []
    assert decision.cursor.pending == []
    assert decide(decision.cursor, [], {"3": "FAILED_REGISTRATION"}.get).failed == []


def test_only_the_newest_ready_version_is_deployed():
    decision = decide(ReadinessCursor(), ["4", "5", "6"], {"4": "READY", "5": "READY", "6": "READY"}.get)
    assert decision.deploy == ["6"]
    assert set(decision.cursor.deployed) == {"4", "5", "6"}


def test_cursor_round_trips():
    cursor = ReadinessCursor(events_cursor="eyJzdG9yYWdlX2lkIjogMTJ9", pending=["7"], deployed=["5", "6"])
    assert ReadinessCursor.parse(cursor.dump()) == cursor
