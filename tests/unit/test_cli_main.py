"""Unit tests of the nuagerie command: command -> playbook mapping, --explain, refusals, status,
unlock, and two end-to-end runs of a fake repository whose playbook is the local event fixture
(tests/fixtures/cli/spaces.yml, every host on the controller: not a lab run)."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from nuagerie_cli import lock as lk
from nuagerie_cli.commands import COMMANDS, Invocation, Options, explain, fix_options, invocation, parse_spaces
from nuagerie_cli.main import catalogue_slugs, main
from nuagerie_cli.runner import ara_enabled, new_run_id, run_environment, state_dir

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "cli"


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own state directory and the real repository as root."""
    state = tmp_path / "state"
    monkeypatch.setenv("NUAGERIE_STATE_DIR", str(state))
    monkeypatch.setenv("NUAGERIE_ROOT", str(ROOT))
    monkeypatch.delenv("NUAGERIE_ARA", raising=False)
    return state


@pytest.mark.parametrize(("options", "argv"), [
    (Options("plan"), "ansible-playbook -i inventories/lab/hosts.yml --check --diff playbooks/spaces.yml"),
    (Options("apply", env="production", spaces=("a", "b"), vault_ids=("prod@/etc/nuagerie/vault.sh",)),
     "ansible-playbook -i inventories/production/hosts.yml --vault-id prod@/etc/nuagerie/vault.sh "
     "-e spaces=a,b playbooks/spaces.yml"),
    (Options("apply", site=True, check=True), "ansible-playbook -i inventories/lab/hosts.yml --check --diff playbooks/site.yml"),
    (Options("apply", spaces=("old",), confirm_delete_data="old"),
     "ansible-playbook -i inventories/lab/hosts.yml -e spaces=old -e confirm_delete_data=old playbooks/spaces.yml"),
    (Options("check-office", env="staging"), "ansible-playbook -i inventories/staging/hosts.yml playbooks/spaces-office-check.yml"),
    (Options("upgrade"), "ansible-playbook -i inventories/lab/hosts.yml playbooks/upgrade.yml"),
    (Options("drift", inventories=("/tmp/molecule/inventory",)),
     "ansible-playbook -i /tmp/molecule/inventory playbooks/spaces-drift.yml"),
    (Options("drift", spaces=("a",)), "ansible-playbook -i inventories/lab/hosts.yml -e spaces=a playbooks/spaces-drift.yml"),
    (fix_options(Options("drift", env="staging"), ["a", "b"]),
     "ansible-playbook -i inventories/staging/hosts.yml -e spaces=a,b -e nextcloud_occ_verify=true playbooks/spaces.yml"),
])
def test_each_command_maps_to_one_playbook(options: Options, argv: str) -> None:
    assert shlex.join(invocation(options).argv) == argv


@pytest.mark.parametrize("options", [Options("drift", site=True), Options("status"), Options("check-office", site=True)])
def test_commands_without_a_playbook_or_with_a_meaningless_site_are_refused(options: Options) -> None:
    with pytest.raises(ValueError):
        invocation(options)


def test_the_explained_line_is_the_one_ansible_runner_runs(tmp_path: Path) -> None:
    from ansible_runner.config.runner import RunnerConfig

    run = invocation(Options("apply", env="staging", spaces=("a",), check=True))
    config = RunnerConfig(private_data_dir=str(tmp_path), project_dir=str(ROOT), playbook=run.playbook,
                          cmdline=shlex.join(run.args), suppress_env_files=True)
    config.prepare()
    assert config.command == run.argv and config.cwd == str(ROOT)
    assert explain(ROOT, run) == f"cd {ROOT} && {shlex.join(config.command)}"


def test_every_playbook_named_exists() -> None:
    for command in COMMANDS.values():
        for playbook in filter(None, (command.playbook, command.site_playbook)):
            assert (ROOT / playbook).is_file(), playbook


def test_parse_spaces() -> None:
    assert parse_spaces(" a, b,,a ,c") == ("a", "b", "c")
    assert parse_spaces(None) == ()


def test_run_environment_keeps_host_key_checking_and_the_repository_callback() -> None:
    env = run_environment(ROOT, {"PATH": "/usr/bin"}, ara_dir="/ara/callback")
    assert env["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    assert env["ANSIBLE_CALLBACK_PLUGINS"].split(":") == [str(ROOT / "plugins" / "callback"), "/ara/callback"]
    assert env["PATH"].endswith(":/usr/bin")


@pytest.mark.parametrize(("value", "on"), [("1", True), ("yes", True), ("TRUE", True), ("0", False), ("", False)])
def test_ara_is_one_setting(value: str, on: bool) -> None:
    assert ara_enabled({"NUAGERIE_ARA": value}) is on


def test_state_dir_and_run_id(tmp_path: Path) -> None:
    assert state_dir({"NUAGERIE_STATE_DIR": str(tmp_path)}) == tmp_path
    assert state_dir({"XDG_STATE_HOME": "/x", "HOME": "/h"}) == Path("/x/nuagerie")
    assert state_dir({"HOME": "/h"}) == Path("/h/.local/state/nuagerie")
    assert new_run_id("lab", "check-office", 7).split("-", 1)[1] == "lab-check-office-7"


def test_catalogue_slugs_are_the_file_stems() -> None:
    assert catalogue_slugs(ROOT / "inventories" / "lab" / "spaces") == ["asso-velo", "club-echecs", "jardin-partage"]


def test_explain_prints_the_command_and_runs_nothing(capsys: pytest.CaptureFixture, _state: Path) -> None:
    assert main(["apply", "--explain", "--env", "lab"]) == 0
    out = capsys.readouterr().out
    assert f"cd {ROOT} && ansible-playbook -i inventories/lab/hosts.yml playbooks/spaces.yml" in out
    assert "ANSIBLE_HOST_KEY_CHECKING=True" in out
    assert not (_state / "runs").exists() and not (_state / "locks").exists()


def test_upgrade_maps_to_its_playbook(capsys: pytest.CaptureFixture, _state: Path) -> None:
    assert main(["upgrade", "--explain", "--env", "lab", "--spaces", "a,b"]) == 0
    out = capsys.readouterr().out
    assert "-e spaces=a,b playbooks/upgrade.yml" in out


def test_drift_explains_its_playbook_and_the_fix_run(capsys: pytest.CaptureFixture) -> None:
    assert main(["drift", "--env", "staging", "--fix", "--explain"]) == 0
    out = capsys.readouterr().out
    assert "ansible-playbook -i inventories/staging/hosts.yml playbooks/spaces-drift.yml" in out
    assert "-e 'spaces=<drifted>' -e nextcloud_occ_verify=true playbooks/spaces.yml" in out


def test_fix_is_refused_outside_drift(capsys: pytest.CaptureFixture) -> None:
    assert main(["apply", "--fix", "--explain"]) == 2
    assert "--fix applies to drift only" in capsys.readouterr().err


def test_unknown_environment_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as usage:
        main(["apply", "--env", "prod"])
    assert usage.value.code == 2


def test_ara_without_ara_installed_is_refused(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUAGERIE_ARA", "1")
    monkeypatch.setattr("nuagerie_cli.main.ara_callback_dir", lambda: None)
    assert main(["apply", "--explain"]) == 2
    assert "ara is not installed" in capsys.readouterr().err


def test_a_second_run_is_refused_while_the_first_holds_the_lock(capsys: pytest.CaptureFixture, _state: Path) -> None:
    holder = lk.new_lock("lab", "nuagerie apply --env lab")  # this test process: alive
    lk.acquire(lk.lock_path(_state, "lab"), holder)
    assert main(["plan", "--env", "lab"]) == 2
    err = capsys.readouterr().err
    assert "refused: lab is busy" in err and holder.started_at in err and "`nuagerie apply --env lab`" in err
    assert lk.read_lock(lk.lock_path(_state, "lab")) == holder
    assert not (_state / "runs").exists()


def test_status_and_unlock(capsys: pytest.CaptureFixture, _state: Path) -> None:
    assert main(["status", "--env", "lab"]) == 0
    assert "lock: free" in capsys.readouterr().out
    dead = lk.LockInfo(env="lab", user="bob", host=lk.socket.gethostname(), pid=2**22 + 12345,
                       started_at="2026-12-02T10:15:00Z", command="nuagerie apply --env lab")
    lk.acquire(lk.lock_path(_state, "lab"), dead)
    assert main(["status", "--env", "lab"]) == 0
    assert "STALE" in capsys.readouterr().out
    assert main(["unlock", "--env", "lab"]) == 2
    assert lk.lock_path(_state, "lab").exists()
    assert main(["unlock", "--env", "lab", "--force"]) == 0
    assert "removed the lock of lab held by bob@" in capsys.readouterr().out
    assert not lk.lock_path(_state, "lab").exists()


def fake_repository(tmp_path: Path, variables: dict) -> Path:
    """A repository whose inventories/lab runs the event fixture playbook as playbooks/spaces.yml."""
    repo = tmp_path / "repo"
    (repo / "playbooks").mkdir(parents=True)
    shutil.copy(FIXTURES / "spaces.yml", repo / "playbooks" / "spaces.yml")
    inventory = repo / "inventories" / "lab"
    (inventory / "group_vars").mkdir(parents=True)
    shutil.copy(FIXTURES / "inventory.yml", inventory / "hosts.yml")
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(variables))
    (inventory / "spaces").mkdir()
    for slug in variables["fixture_spaces"]:
        (inventory / "spaces" / f"{slug}.yml").write_text("---\n")
    (repo / "plugins").mkdir()
    (repo / "plugins" / "callback").symlink_to(ROOT / "plugins" / "callback")
    (repo / "ansible.cfg").write_text(f"[defaults]\nfilter_plugins = {ROOT / 'filter_plugins'}\n"
                                      "callbacks_enabled = nuagerie_tasks\nretry_files_enabled = False\n")
    return repo


@pytest.mark.parametrize(("variables", "code", "outcomes"), [
    ({"fixture_spaces": ["asso-velo", "club-echecs"], "fixture_created": ["asso-velo"]}, 0,
     {"asso-velo": "created", "club-echecs": "ok"}),
    ({"fixture_spaces": ["asso-velo", "club-echecs"], "fixture_fail_loop": ["club-echecs"]}, 1,
     {"asso-velo": "ok", "club-echecs": "failed"}),
])
def test_end_to_end_run_writes_report_keeps_artifacts_and_releases_the_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, _state: Path,
        variables: dict, code: int, outcomes: dict) -> None:
    monkeypatch.setenv("NUAGERIE_ROOT", str(fake_repository(tmp_path, variables)))
    assert main(["apply", "--env", "lab", "--no-progress"]) == code
    out = capsys.readouterr().out
    reports = list((_state / "runs").glob("*-lab-apply-*/report.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    schema = json.loads((ROOT / "docs" / "schemas" / "run-report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    assert {s["slug"]: s["outcome"] for s in report["spaces"]} == outcomes
    assert report["exit_code"] == code and report["holder"].startswith(lk.getpass.getuser() + "@")
    artifacts = Path(report["artifacts"])
    assert (artifacts / "stdout").is_file() and any((artifacts / "job_events").iterdir())
    assert "occ steps:" in out and "nuagerie: " in out and str(reports[0]) in out
    assert not lk.lock_path(_state, "lab").exists()
    assert main(["status", "--env", "lab"]) == 0
    assert report["run_id"] in capsys.readouterr().out


def test_invocation_argv_property() -> None:
    assert Invocation("p.yml", ("-i", "x")).argv == ["ansible-playbook", "-i", "x", "p.yml"]
