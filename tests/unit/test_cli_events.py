"""Unit tests of nuagerie_cli/events.py: the reduction of recorded ansible-runner events.

The fixtures (tests/fixtures/cli/events-*.json) are real events of a local fixture run
(tests/fixtures/cli/record.py), not of a lab run.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nuagerie_cli import events as ev

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cli"


def recorded(name: str) -> dict:
    return json.loads((FIXTURES / f"events-{name}.json").read_text())


def reduced(name: str) -> ev.RunState:
    doc = recorded(name)
    return ev.reduce_events(doc["events"], doc["selection"], doc["status"] == "successful")


def test_fixtures_are_real_runner_runs_with_the_expected_status() -> None:
    assert (recorded("ok")["status"], recorded("ok")["rc"]) == ("successful", 0)
    assert recorded("failed")["status"] == "failed" and recorded("failed")["rc"] != 0
    assert recorded("check")["check"] is True


def test_successful_run_gives_each_space_its_outcome_and_steps() -> None:
    state = reduced("ok")
    outcomes = {slug: space.outcome for slug, space in state.spaces.items()}
    assert outcomes == {"asso-velo": "created", "club-echecs": "changed", "jardin-partage": "ok"}
    assert state.spaces["asso-velo"].steps == [
        "PostgreSQL tier: Converge each space's role and database", "occ install", "occ apps", "occ app values"]
    assert all(space.error is None for space in state.spaces.values())
    assert all(space.seconds is not None and space.seconds >= 0 for space in state.spaces.values())
    assert not state.host_failures
    assert state.playbook_counts["created"] == 1 and state.playbook_counts["unchanged"] == 1
    assert state.summary_line.startswith("nuagerie: 7 task executions on 4 hosts")


def test_tiers_are_the_plays_in_order_with_their_counts() -> None:
    state = reduced("ok")
    assert [tier.name for tier in state.tiers] == [
        "Validate the catalogue and every input before any host changes", "PostgreSQL tier", "Redis tier",
        "Per-space Nextcloud steps (install, apps, quota, office wiring), then config.php everywhere"]
    postgresql = state.tiers[1]
    assert (postgresql.tasks, postgresql.hosts, postgresql.results["ok"], postgresql.results["changed"]) == (
        1, {"pg1", "pg2"}, 2, 1)
    assert state.tiers[3].tasks == 3 and not any(tier.failed for tier in state.tiers)


def test_failed_run_names_loop_and_occ_failures_and_the_unreachable_host() -> None:
    state = reduced("failed")
    spaces = state.spaces
    assert spaces["club-echecs"].outcome == "failed"
    assert spaces["club-echecs"].error == "role club-echecs: permission denied to create role (exit 1)"
    assert spaces["ecole-musique"].outcome == "failed"
    assert spaces["ecole-musique"].error == "install (1): database refused: connection to server failed"
    assert spaces["asso-velo"].outcome == "created"
    # Named by no failure, covered by the occ summary: ok although the run failed.
    assert spaces["jardin-partage"].outcome == "ok"
    kinds = sorted((f.host, f.kind) for f in state.host_failures)
    assert kinds == [("pg1", "failed"), ("redis1", "unreachable"), ("web1", "failed")]
    assert "port 9" in next(f.message for f in state.host_failures if f.host == "redis1")
    assert [tier.failed for tier in state.tiers] == [False, True, True, True]


def test_check_run_reads_would_be_lines_as_the_outcome_they_announce() -> None:
    state = reduced("check")
    assert state.spaces["asso-velo"].outcome == "created"
    assert state.spaces["club-echecs"].outcome == "ok"
    assert state.playbook_counts["created"] == 1


def test_events_of_a_run_that_stopped_before_any_summary_leave_spaces_not_reached() -> None:
    doc = recorded("failed")
    first_tier_only = [e for e in doc["events"] if e["event_data"].get("play", "").startswith("Validate")]
    state = ev.reduce_events(first_tier_only, ["asso-velo", "never-named"], successful=False)
    assert {s.outcome for s in state.spaces.values()} == {"not_reached"}
    assert ev.reduce_events(first_tier_only, ["asso-velo"], successful=True).spaces["asso-velo"].outcome == "ok"


@pytest.mark.parametrize(("label", "expected"), [
    ("asso-velo", "asso-velo"),
    ("asso-velo: database", "asso-velo"),
    ("minio: asso-velo", "asso-velo"),
    ("asso-velo-2", None),
    ("postgresql: pg1", None),
    (None, None),
    ({"slug": "asso-velo"}, None),
])
def test_slug_of_label_matches_whole_slug_tokens_only(label: object, expected: str | None) -> None:
    assert ev.slug_of_label(label, ["asso-velo", "club"]) == expected


def test_outcome_lines_give_steps_failures_and_counts() -> None:
    lines = ["occ steps: created 1, changed 1, failed 1 in 3.5 s", "a: created (install, apps)", "b: would be changed",
             "c: FAILED at apps (1): boom", "stranger: created", "Plan: 3 space(s)"]
    found, counts = ev.mentions_from_lines(lines, ["a", "b", "c"], "occ tier")
    assert counts == {"created": 1, "changed": 1, "failed": 1}
    assert [(m.slug, m.outcome, m.step) for m in found] == [
        ("a", "created", "occ install"), ("a", "created", "occ apps"), ("b", "changed", "occ tier: occ"),
        ("c", "failed", "occ tier: occ")]
    assert found[-1].error == "apps (1): boom"


def test_bracketed_failure_message_names_each_failed_space() -> None:
    msg = ("2 of 3 active space(s) cannot reach their office suite: [a] richdocuments:activate-config (1): "
           "no discovery [b-2] onlyoffice (2): timeout ")
    found = ev.mentions_from_message(msg, ["a", "b-2", "c"], "office")
    assert [(m.slug, m.error) for m in found] == [("a", "richdocuments:activate-config (1): no discovery"),
                                                  ("b-2", "onlyoffice (2): timeout")]


def test_uncensored_module_result_is_read_too() -> None:
    res = {"outcomes": {"created": ["a"], "unchanged": ["b"], "bogus": ["c"]}, "failed_spaces": {"c": "x"}}
    found = ev.mentions_from_result(res, ["a", "b", "c"], "t")
    assert sorted((m.slug, m.outcome) for m in found) == [("a", "created"), ("b", "ok"), ("c", "failed")]


def test_merge_keeps_the_most_significant_outcome_and_first_error() -> None:
    space = ev.Space("a")
    for mention in (ev.Mention("a", "ok", "s1", seconds=0.5), ev.Mention("a", "created", "s2"),
                    ev.Mention("a", "failed", "s3", error="first"), ev.Mention("a", "changed", "s1", error="second",
                                                                               seconds=0.25)):
        ev.merge(space, mention)
    assert (space.outcome, space.steps, space.error, space.seconds) == ("failed", ["s1", "s2", "s3"], "first", 0.75)


def test_ignored_failure_counts_as_ignored_not_as_a_host_failure() -> None:
    folder = ev.RunFolder(["a"])
    base = {"play": "p", "play_uuid": "1", "task": "t", "task_uuid": "2", "host": "h"}
    folder.feed({"event": "runner_on_failed", "created": "2026-12-02T10:00:00+00:00",
                 "event_data": {**base, "ignore_errors": True, "res": {"msg": "[a] nope"}}})
    assert folder.state.tiers[0].results["ignored"] == 1 and not folder.state.host_failures


def test_item_durations_run_from_the_previous_item_of_the_same_host() -> None:
    folder = ev.RunFolder(["a", "b"])
    base = {"play": "p", "play_uuid": "1", "task": "t", "task_uuid": "2", "host": "h"}
    for kind, created, label in (("runner_on_start", "10:00:00", None), ("runner_item_on_ok", "10:00:02", "a"),
                                 ("runner_item_on_ok", "10:00:05", "b")):
        res = {"_ansible_item_label": label, "changed": True} if label else {}
        folder.feed({"event": kind, "created": f"2026-12-02T{created}+00:00", "event_data": {**base, "res": res}})
    assert (folder.state.spaces["a"].seconds, folder.state.spaces["b"].seconds) == (2.0, 3.0)


@pytest.mark.parametrize(("text", "expected"), [("  a \n b ", "a b"), (["x", "y"], "x y"), ("z" * 600, "z" * 499 + "…")])
def test_shorten(text: object, expected: str) -> None:
    assert ev.shorten(text) == expected
