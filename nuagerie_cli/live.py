"""The live view of a run (rich): one progress bar per tier, one per space, messages above them.

A tier's bar runs while its play runs and completes when the next play starts. Spaces get one
bar each when the selection is small (:data:`SPACE_ROWS`), else one bar for all of them; a
space's bar is half-way once a task names it and complete when its outcome is final: failed,
or reported by a whole-selection summary (set-based tasks report every space at once, at the
occ summary; a run without one completes the bars at its end). The lines the playbooks print on purpose (the plan, the occ
summary) and every host failure are printed above the bars as they come.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from .events import RunFolder

#: Up to this many selected spaces get a bar each; more share one bar.
SPACE_ROWS = 12
_STYLE = {"failed": "red", "not_reached": "yellow", "ok": "green"}


def event_lines(event: Mapping) -> list:
    """The lines of an event worth printing above the bars.

    :param event: an ansible-runner event.
    :returns: a debug task's message lines, or ``FAILED host: task: message`` /
        ``UNREACHABLE …`` for a failed (not ignored) or unreachable host.
    """
    kind = event.get("event")
    data = event.get("event_data") or {}
    res = data.get("res") if isinstance(data.get("res"), Mapping) else {}
    if kind == "runner_on_ok" and data.get("task_action") in ("debug", "ansible.builtin.debug"):
        msg = res.get("msg")
        return [str(line) for line in (msg if isinstance(msg, list) else [msg])] if msg else []
    if (kind == "runner_on_failed" and not data.get("ignore_errors")) or kind == "runner_on_unreachable":
        word = "FAILED" if kind == "runner_on_failed" else "UNREACHABLE"
        text = " ".join(str(res.get("msg") or res.get("stderr") or "").split())[:300]
        return [f"{word} {data.get('host')}: {data.get('task')}: {text}"]
    return []


class LiveView:
    """Bars and lines for one run, fed event by event.

    :param folder: the run's folder (owns the state the bars show).
    :param console: where to draw (a non-terminal console draws only the lines).
    """

    def __init__(self, folder: RunFolder, console: Console) -> None:
        self.folder = folder
        self.console = console
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                                 console=console, transient=False)
        self._tier_tasks: dict = {}
        self._final = False
        slugs = folder.slugs
        self._each = len(slugs) <= SPACE_ROWS
        self._space_tasks = ({slug: self.progress.add_task(f"space {slug}", total=1, detail="waiting")
                              for slug in slugs} if self._each else {})
        self._all = None if self._each else self.progress.add_task(
            f"spaces ({len(slugs)})", total=len(slugs) or 1, detail="0 reported")

    def __enter__(self) -> LiveView:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish_tiers()
        self.progress.stop()

    def _finish_tiers(self) -> None:
        for tier, task in self._tier_tasks.items():
            self.progress.update(task, total=1, completed=1, detail=self._tier_detail(tier))

    @staticmethod
    def _tier_detail(tier: object) -> str:
        results = tier.results
        bad = results["failed"] + results["unreachable"]
        return f"{tier.tasks} tasks, {len(tier.hosts)} hosts" + (f", [red]{bad} failed[/]" if bad else "")

    def feed(self, event: Mapping) -> None:
        """Fold an event and redraw what it changed.

        :param event: an ansible-runner event.
        """
        self.folder.feed(event)
        for line in event_lines(event):
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)
        tiers = self.folder.state.tiers
        if tiers and tiers[-1] not in self._tier_tasks:
            self._finish_tiers()
            self._tier_tasks[tiers[-1]] = self.progress.add_task(f"tier {tiers[-1].name[:60]}", total=None, detail="")
        if tiers:
            current = tiers[-1]
            self.progress.update(self._tier_tasks[current],
                                 detail=f"{self._tier_detail(current)}: {(current.current_task or '')[:50]}")
        self._draw_spaces()

    def finish(self) -> None:
        """Complete every bar once the state is concluded (:func:`~nuagerie_cli.events.conclude`)."""
        self._final = True
        self._finish_tiers()
        self._draw_spaces()

    def _reported(self, space: object) -> bool:
        """Whether a space's outcome is final: the run ended, it failed, or a whole-selection summary reported it."""
        return self._final or space.covered or space.outcome == "failed"

    def _draw_spaces(self) -> None:
        spaces = self.folder.state.spaces.values()
        if self._each:
            for space in spaces:
                if space.outcome or self._reported(space):
                    outcome = space.outcome or "ok"
                    style = _STYLE.get(outcome, "cyan")
                    so_far = "" if self._reported(space) else " so far"
                    self.progress.update(self._space_tasks[space.slug], completed=1 if not so_far else 0.5,
                                         detail=f"[{style}]{outcome.replace('_', ' ')}[/]{so_far} ({len(space.steps)} steps)")
            return
        done = [s for s in spaces if self._reported(s)]
        failed = sum(1 for s in done if s.outcome == "failed")
        self.progress.update(self._all, completed=len(done),
                             detail=f"{len(done)} reported" + (f", [red]{failed} failed[/]" if failed else ""))
