"""Unit tests of the task-count callback (plugins/callback/nuagerie_tasks.py)."""

from types import SimpleNamespace

from callback import nuagerie_tasks


def _result(host, **values):
    return SimpleNamespace(_host=SimpleNamespace(get_name=lambda: host), _result=values)


def test_summary_line_counts_every_outcome_and_never_reads_like_the_recap():
    line = nuagerie_tasks.summary_line(
        {"ok": 5, "changed": 2, "skipped": 3, "failed": 1, "unreachable": 0}, 2, 12.345)
    assert line == ("nuagerie: 9 task executions on 2 hosts in 12.3 s "
                    "(ok 5, changed 2, skipped 3, failed 1, unreachable 0)")
    assert "changed=" not in line


def test_callback_counts_results_per_host(capsys):
    callback = nuagerie_tasks.CallbackModule()
    shown = []
    callback._display = SimpleNamespace(display=shown.append)
    callback.v2_runner_on_ok(_result("web1", changed=True))
    callback.v2_runner_on_ok(_result("web2"))
    callback.v2_runner_on_skipped(_result("web2"))
    callback.v2_runner_on_failed(_result("pg1"))
    callback.v2_runner_on_unreachable(_result("pg2"))
    callback.v2_playbook_on_stats(None)
    assert callback.counts == {"ok": 2, "changed": 1, "skipped": 1, "failed": 1, "unreachable": 1}
    assert shown and shown[0].startswith("nuagerie: 5 task executions on 4 hosts in ")


def test_callback_documents_itself():
    import pathlib
    import subprocess
    import sys
    root = pathlib.Path(__file__).parents[2]
    run = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-doc"), "-t", "callback",
                          "--json", "nuagerie_tasks"], cwd=root, capture_output=True, text=True,
                         env={"ANSIBLE_CONFIG": str(root / "ansible.cfg"), "PATH": "/usr/bin:/bin"},
                         check=False)
    assert run.returncode == 0 and "ERROR" not in run.stderr and "WARNING" not in run.stderr, run.stderr
    assert '"name": "nuagerie_tasks"' in run.stdout
