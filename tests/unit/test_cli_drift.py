"""Unit tests of `nuagerie drift` in the CLI: the drift report's lines (the real filter
``nuagerie_nextcloud_drift_lines``) folded into per-space outcomes, the report (valid against the
schema) and its exit code. Events are built here in the shape ansible-runner records (see
tests/fixtures/cli for recorded ones); the platform verify (molecule/platform/verify-cli.yml)
runs the command for real."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

import nuagerie_nextcloud_occ as occf
from nuagerie_cli import report as rp
from nuagerie_cli.events import reduce_events

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "schemas" / "run-report.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
SLUGS = ["alpha", "bravo", "charlie"]


def drift_run(lines: list) -> dict:
    events = [
        {"event": "playbook_on_play_start", "counter": 1, "created": "2026-12-03T04:00:00.000000+00:00",
         "event_data": {"play": "Compare every space with the catalogue (check mode; nothing changes)"}},
        {"event": "runner_on_ok", "counter": 2, "created": "2026-12-03T04:00:03.000000+00:00",
         "event_data": {"play": "Compare every space with the catalogue (check mode; nothing changes)",
                        "task": "Report what differs, per space", "task_action": "ansible.builtin.debug",
                        "host": "web1", "res": {"msg": lines, "changed": False}}},
    ]
    state = reduce_events(events, SLUGS, True)
    meta = rp.RunMeta(run_id="20261203T040000Z-lab-drift-4242", command="drift", env="lab",
                      playbook="playbooks/spaces-drift.yml",
                      argv=("ansible-playbook", "-i", "inventories/lab/hosts.yml", "playbooks/spaces-drift.yml"),
                      check=False, selection=(), status="successful", rc=0, started_at=events[0]["created"],
                      finished_at=events[-1]["created"], artifacts="/state/runs/x/artifacts/x", holder="root@ctl")
    return rp.build_report(state, meta)


def test_drifted_space_is_reported_with_what_differs_and_exits_one() -> None:
    lines = occf.drift_lines({"drift": {"bravo": ["app deck: disabled (catalogue: enabled)"]}, "failed_spaces": {},
                              "occ_calls": 2, "seconds": 0.3}, {}, [{"slug": s} for s in SLUGS])
    report = drift_run(lines)
    VALIDATOR.validate(report)
    by_slug = {s["slug"]: s for s in report["spaces"]}
    assert by_slug["bravo"]["outcome"] == "drifted"
    assert by_slug["bravo"]["error"] == "app deck: disabled (catalogue: enabled)"
    assert by_slug["alpha"]["outcome"] == "ok" and by_slug["charlie"]["outcome"] == "ok"
    assert report["counts"]["drifted"] == 1 and report["exit_code"] == 1


def test_no_drift_exits_zero() -> None:
    lines = occf.drift_lines({"drift": {}, "failed_spaces": {}, "occ_calls": 2, "seconds": 0.3}, {},
                             [{"slug": s} for s in SLUGS])
    report = drift_run(lines)
    VALIDATOR.validate(report)
    assert {s["outcome"] for s in report["spaces"]} == {"ok"} and report["exit_code"] == 0
