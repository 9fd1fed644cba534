"""Callback ``nuagerie_tasks``: count task executions and time a run, printed at its end.

A task execution is one task on one host: what ansible-core schedules and reports as ok,
changed, skipped, failed or unreachable (loop items are parts of one execution). The figure is
what a run costs beside its wall time (issue 15): a one-space change must not re-run every
host's baseline. The pure part, :func:`summary_line`, is unit-tested.
"""

from __future__ import annotations

import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
---
name: nuagerie_tasks
type: aggregate
short_description: Print the number of task executions and the wall time of a run
description:
  - Counts every task result (one task on one host; loop items are parts of one execution) by
    outcome and prints one line at the end of the run.
  - "Example: C(nuagerie: 61 task executions on 7 hosts in 38.2 s (ok 37, changed 0, skipped 24, failed 0, unreachable 0))."
  - Enabled in the repository's C(ansible.cfg) (C(callbacks_enabled)).
requirements: []
"""


def summary_line(counts: dict, hosts: int, seconds: float) -> str:
    """The closing line of a run.

    :param counts: executions per outcome (``ok``, ``changed``, ``skipped``, ``failed``,
        ``unreachable``); ``changed`` results are also counted in ``ok``.
    :param hosts: number of hosts that reported at least one result.
    :param seconds: wall time of the run.
    :returns: one line; it never contains ``changed=`` (tests read the recap's figures).
    """
    total = sum(counts.get(key, 0) for key in ("ok", "skipped", "failed", "unreachable"))
    parts = ", ".join(f"{key} {counts.get(key, 0)}"
                      for key in ("ok", "changed", "skipped", "failed", "unreachable"))
    return f"nuagerie: {total} task executions on {hosts} hosts in {seconds:.1f} s ({parts})"


class CallbackModule(CallbackBase):
    """Count results per outcome; print :func:`summary_line` with the stats."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "nuagerie_tasks"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.counts = {"ok": 0, "changed": 0, "skipped": 0, "failed": 0, "unreachable": 0}
        self.hosts: set = set()
        self.started = time.monotonic()

    def _count(self, result, outcome: str) -> None:
        self.counts[outcome] += 1
        self.hosts.add(result._host.get_name())

    def v2_runner_on_ok(self, result):
        """A task succeeded on a host (changed or not)."""
        self._count(result, "ok")
        if result._result.get("changed"):
            self.counts["changed"] += 1

    def v2_runner_on_failed(self, result, ignore_errors=False):
        """A task failed on a host."""
        self._count(result, "failed")

    def v2_runner_on_skipped(self, result):
        """A task was skipped on a host."""
        self._count(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        """A host could not be reached."""
        self._count(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        """Print the line at the end of the run."""
        self._display.display(summary_line(self.counts, len(self.hosts),
                                           time.monotonic() - self.started))
