"""Unit tests of nuagerie_cli/report.py: the JSON report (against docs/schemas/run-report.schema.json)
and the final tables, built from recorded ansible-runner events (tests/fixtures/cli, a local
fixture run, not a lab run)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from nuagerie_cli import report as rp
from nuagerie_cli.events import reduce_events

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "cli"
SCHEMA = json.loads((ROOT / "docs" / "schemas" / "run-report.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def report_of(name: str, command: str = "apply") -> dict:
    doc = json.loads((FIXTURES / f"events-{name}.json").read_text())
    state = reduce_events(doc["events"], doc["selection"], doc["status"] == "successful")
    meta = rp.RunMeta(run_id=f"20261202T195900Z-lab-{command}-4242", command=command, env="lab",
                      playbook="playbooks/spaces.yml", argv=tuple(doc["argv"]), check=doc["check"], selection=(),
                      status=doc["status"], rc=doc["rc"], started_at=doc["events"][0]["created"],
                      finished_at=doc["events"][-1]["created"], artifacts="/state/runs/x/artifacts/x",
                      holder="root@controller")
    return rp.build_report(state, meta)


@pytest.mark.parametrize("name", ["ok", "failed", "check"])
def test_reports_of_recorded_runs_validate_against_the_schema(name: str) -> None:
    VALIDATOR.validate(report_of(name))


def test_schema_refuses_what_the_report_never_holds() -> None:
    good = report_of("failed")
    for mutate in (lambda r: r.update(extra=1), lambda r: r["spaces"][0].update(outcome="maybe"),
                   lambda r: next(s for s in r["spaces"] if s["outcome"] == "failed").update(error=None),
                   lambda r: r.update(exit_code=2), lambda r: r["counts"].update(maybe=1),
                   lambda r: r["tiers"][0]["results"].pop("ok")):
        bad = copy.deepcopy(good)
        mutate(bad)
        assert not VALIDATOR.is_valid(bad)


def test_successful_report_exits_zero_with_its_counts() -> None:
    report = report_of("ok")
    assert (report["status"], report["exit_code"]) == ("successful", rp.EXIT_OK)
    assert {k: v for k, v in report["counts"].items() if v} == {"created": 1, "changed": 1, "ok": 1}
    assert report["summary_line"].startswith("nuagerie: ")
    assert report["tiers"][1]["results"]["changed"] == 1


def test_failed_report_exits_one_and_names_spaces_and_hosts() -> None:
    report = report_of("failed")
    assert report["exit_code"] == rp.EXIT_FAILED
    assert [s["slug"] for s in report["spaces"] if s["outcome"] == "failed"] == ["club-echecs", "ecole-musique"]
    assert {h["host"] for h in report["hosts"]} == {"pg1", "redis1", "web1"}


@pytest.mark.parametrize(("status", "hosts", "outcomes", "expected"), [
    ("successful", [], ["ok", "created"], 0),
    ("successful", [], ["ok", "failed"], 1),
    ("successful", [{"host": "x"}], ["ok"], 1),
    ("failed", [], ["ok"], 1),
    ("canceled", [], ["not_reached"], 1),
])
def test_exit_code(status: str, hosts: list, outcomes: list, expected: int) -> None:
    report = {"status": status, "hosts": hosts, "spaces": [{"outcome": o} for o in outcomes]}
    assert rp.exit_code(report) == expected


def test_space_rows_put_failures_first_and_say_would_be_in_check_mode() -> None:
    rows = rp.space_rows(report_of("failed"))
    assert [row[:2] for row in rows] == [("club-echecs", "failed"), ("ecole-musique", "failed"),
                                         ("asso-velo", "created"), ("jardin-partage", "ok")]
    assert rows[0][4] == "role club-echecs: permission denied to create role (exit 1)"
    assert rp.space_rows(report_of("check"))[0][:2] == ("asso-velo", "would be created")
    assert len(rp.space_rows(report_of("failed"), limit=2)) == 2


def test_tables_render_every_column_and_keep_brackets_literal() -> None:
    console = Console(width=200, record=True, color_system=None)
    for table in rp.tables(report_of("failed")):
        console.print(table)
    text = console.export_text()
    for word in ("space", "outcome", "duration", "steps", "error", "hosts that failed", "UNREACHABLE".lower()):
        assert word in text
    assert "[ecole-musique] install (1)" in text  # rich markup would have eaten the brackets
    assert "4 space(s): 2 failed, 1 created, 1 ok" in text


@pytest.mark.parametrize(("seconds", "text"), [(None, "—"), (0.42, "0.4 s"), (12.4, "12 s"), (185, "3 min 05 s"),
                                               (3720, "1 h 02 min")])
def test_format_seconds(seconds: float | None, text: str) -> None:
    assert rp.format_seconds(seconds) == text


def test_write_load_and_latest_report_per_environment(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for run_id in ("20261201T100000Z-lab-apply-1", "20261202T100000Z-lab-plan-2", "20261203T100000Z-staging-apply-3",
                   "20261204T100000Z-lab-check-office-4"):
        (runs / run_id).mkdir(parents=True)
        rp.write_report({"run_id": run_id}, runs / run_id / "report.json")
    (runs / "20261205T100000Z-lab-apply-5").mkdir()  # a run still going: no report yet
    assert rp.load_report(rp.latest_report(runs, "lab"))["run_id"] == "20261204T100000Z-lab-check-office-4"
    assert rp.latest_report(runs, "staging").parent.name == "20261203T100000Z-staging-apply-3"
    assert rp.latest_report(runs, "production") is None
    assert rp.latest_report(tmp_path / "none", "lab") is None
