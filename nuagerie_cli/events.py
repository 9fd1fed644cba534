"""Reduce ansible-runner events to the state of a run: tiers, hosts and spaces.

A **tier** is a play (its name, as ``site.yml`` and ``spaces.yml`` name them). A **space** is a
slug of the selection; the playbooks converge spaces in set-based tasks, so a space is named
in the events in four ways, all read here:

* a loop item whose label is (or starts with) the slug: ``runner_item_on_ok|failed``;
* the occ summary printed by ``nuagerie_nextcloud_outcome_lines`` (a ``debug`` task):
  ``<slug>: created (install, apps)``, ``<slug>: would be changed``, ``<slug>: FAILED at …``
  and its count line ``occ steps: created 1, … in 2.5 s`` (which covers every selected space);
* the failure message of the occ and office checks: ``… [<slug>] <why> [<slug>] <why> …``;
* an uncensored module result with ``outcomes`` / ``failed_spaces`` (``nuagerie_nextcloud_spaces``
  when ``nextcloud_no_log`` is false).

Everything but :class:`RunFolder` is a pure function; the folder only accumulates.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

#: Space outcomes, most significant first: a space's outcome is its most significant mention.
OUTCOMES = ("failed", "created", "deleted", "enabled", "disabled", "changed", "drifted", "pending", "ok", "not_reached")
#: Outcomes a mention can carry (``not_reached`` is only ever concluded at the end).
MENTION_OUTCOMES = OUTCOMES[:-1]
#: Host result kinds counted per tier.
RESULT_KINDS = ("ok", "changed", "failed", "unreachable", "skipped", "ignored")

_SLUG_TOKEN = re.compile(r"[a-z0-9][a-z0-9-]*")
_OUTCOME_LINE = re.compile(
    r"^(?P<slug>[a-z0-9][a-z0-9-]*): (?:would be )?(?P<outcome>created|changed|enabled|disabled|deleted)"
    r"(?: \((?P<steps>[^)]*)\))?$")
_FAILED_LINE = re.compile(r"^(?P<slug>[a-z0-9][a-z0-9-]*): FAILED at (?P<why>.+)$")
# The drift report (nuagerie_nextcloud_drift_lines): `<slug>: DRIFT: <what>; <what>`.
_DRIFT_LINE = re.compile(r"^(?P<slug>[a-z0-9][a-z0-9-]*): DRIFT: (?P<what>.+)$")
_COUNT_LINE = re.compile(r"^occ steps(?: \(check mode\))?: (?P<counts>.+) in (?P<seconds>[0-9.]+) s$")
_BRACKETED = re.compile(r"\[(?P<slug>[a-z0-9][a-z0-9-]*)\] (?P<why>.*?)(?=\s*\[[a-z0-9][a-z0-9-]*\] |\s*Fix the cause|$)",
                        re.DOTALL)
# Messages that report on every selected space at once (roles/nextcloud/tasks/{spaces,office-check}.yml).
_COVERING_MESSAGES = ("space(s) failed, the others are converged", "cannot reach their office suite",
                      "reaches its office suite", "space(s) differ from the catalogue")
_RESULT_OUTCOMES = {"created": "created", "changed": "changed", "enabled": "enabled", "disabled": "disabled",
                    "deleted": "deleted", "pending": "pending", "unchanged": "ok", "failed": "failed"}
ERROR_LIMIT = 500


@dataclass(frozen=True)
class Mention:
    """One piece of evidence about a space found in one event.

    :ivar slug: the space.
    :ivar outcome: one of :data:`MENTION_OUTCOMES`.
    :ivar step: what acted on it (``<tier>: <task>``, or an occ step), or ``None``.
    :ivar error: why it failed, or ``None``.
    :ivar seconds: time of this piece of work (loop items only), or ``None``.
    """

    slug: str
    outcome: str
    step: str | None = None
    error: str | None = None
    seconds: float | None = None


@dataclass(eq=False)
class Tier:
    """One play of the run.

    :ivar name: the play's name.
    :ivar started: ISO time of its first event.
    :ivar ended: ISO time of its last event.
    :ivar tasks: number of tasks started.
    :ivar results: host results by kind (:data:`RESULT_KINDS`).
    :ivar hosts: the hosts that reported a result.
    :ivar current_task: the task running now.
    """

    name: str
    started: str
    ended: str
    tasks: int = 0
    results: dict = field(default_factory=lambda: dict.fromkeys(RESULT_KINDS, 0))
    hosts: set = field(default_factory=set)
    current_task: str | None = None

    @property
    def failed(self) -> bool:
        """Whether a host failed or was unreachable in this play."""
        return bool(self.results["failed"] or self.results["unreachable"])


@dataclass(frozen=True)
class HostFailure:
    """A host that failed a task or could not be reached (not ignored).

    :ivar tier: the play.
    :ivar task: the task.
    :ivar host: the inventory host.
    :ivar kind: ``failed`` or ``unreachable``.
    :ivar message: the result's message, cut to :data:`ERROR_LIMIT` characters.
    """

    tier: str
    task: str
    host: str
    kind: str
    message: str


@dataclass
class Space:
    """What the run did to one space.

    :ivar slug: the space.
    :ivar outcome: one of :data:`OUTCOMES`, ``None`` while unknown.
    :ivar steps: what acted on it, in order, without repeats.
    :ivar error: the first failure's message.
    :ivar seconds: sum of its timed work (loop items), ``None`` when no work was timed.
    :ivar covered: a whole-selection summary reported on it (unnamed means ``ok`` then).
    """

    slug: str
    outcome: str | None = None
    steps: list = field(default_factory=list)
    error: str | None = None
    seconds: float | None = None
    covered: bool = False


@dataclass
class RunState:
    """Everything the report needs, folded from the events.

    :ivar spaces: slug -> :class:`Space`, in the selection's order.
    :ivar tiers: the plays in order.
    :ivar host_failures: failed or unreachable hosts.
    :ivar stats: the ``playbook_on_stats`` per-host counters (``ok``, ``failures``, ``dark``…).
    :ivar playbook_counts: the occ count line, outcome -> number, when printed.
    :ivar summary_line: the closing ``nuagerie: N task executions…`` line, when printed.
    :ivar messages: lines the playbooks print on purpose (the plan, the occ summary).
    :ivar started: ISO time of the first event.
    :ivar ended: ISO time of the last event.
    """

    spaces: dict
    tiers: list = field(default_factory=list)
    host_failures: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    playbook_counts: dict = field(default_factory=dict)
    summary_line: str | None = None
    messages: list = field(default_factory=list)
    started: str | None = None
    ended: str | None = None


def parse_time(value: str) -> datetime.datetime:
    """Parse an ansible-runner ISO timestamp (``2026-12-02T19:53:12.676781+00:00``).

    :param value: the ``created`` field of an event.
    :returns: an aware datetime (UTC when the text carries no offset).
    """
    moment = datetime.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds from one ISO time to another.

    :param start: the earlier time, or ``None``.
    :param end: the later time, or ``None``.
    :returns: the difference rounded to milliseconds, ``None`` when a time is missing.
    """
    if not start or not end:
        return None
    return round((parse_time(end) - parse_time(start)).total_seconds(), 3)


def shorten(text: object, limit: int = ERROR_LIMIT) -> str:
    """One line of at most ``limit`` characters from any message.

    :param text: a string, or a list of strings (joined), or anything printable.
    :param limit: the longest result.
    :returns: whitespace collapsed, cut with an ellipsis.
    """
    if isinstance(text, (list, tuple)):
        text = " ".join(str(part) for part in text)
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def result_message(res: Mapping) -> str:
    """The message of a failed or unreachable result, as an operator reads it.

    :param res: the ``res`` of a ``runner_on_*`` event.
    :returns: ``msg``, else ``stderr``, else ``stdout``, else a generic text; shortened.
    """
    for key in ("msg", "stderr", "stdout"):
        if res.get(key):
            return shorten(res[key])
    return "failed without a message" if not res.get("unreachable") else "unreachable"


def slug_of_label(label: object, slugs: Iterable[str]) -> str | None:
    """The selected slug a loop label names, if any.

    :param label: the item's label (``_ansible_item_label``) or item.
    :param slugs: the selected slugs.
    :returns: the first token of the label that is a selected slug (``asso-velo``,
        ``asso-velo: database``), or ``None``.
    """
    if not isinstance(label, str):
        return None
    known = set(slugs)
    for token in _SLUG_TOKEN.findall(label):
        if token in known:
            return token
    return None


def mentions_from_lines(lines: Sequence[str], slugs: Iterable[str], tier: str) -> tuple:
    """Mentions in the occ summary lines (``nuagerie_nextcloud_outcome_lines``).

    :param lines: the debug message, one line per entry.
    :param slugs: the selected slugs.
    :param tier: the play, for the step names.
    :returns: ``(mentions, counts)``: counts is the count line as outcome -> number (empty when
        the lines hold none); a count line means every selected space was reported on.
    """
    known = set(slugs)
    found: list = []
    counts: dict = {}
    for line in lines:
        if not isinstance(line, str):
            continue
        if match := _COUNT_LINE.match(line):
            for part in match["counts"].split(", "):
                name, _, number = part.rpartition(" ")
                if name and number.isdigit():
                    counts[name] = int(number)
        elif (match := _OUTCOME_LINE.match(line)) and match["slug"] in known:
            steps = [s.strip() for s in (match["steps"] or "").split(",") if s.strip()]
            names = [f"occ {step}" for step in steps] or [f"{tier}: occ"]
            found.extend(Mention(match["slug"], match["outcome"], step=name) for name in names)
        elif (match := _FAILED_LINE.match(line)) and match["slug"] in known:
            found.append(Mention(match["slug"], "failed", step=f"{tier}: occ", error=shorten(match["why"])))
        elif (match := _DRIFT_LINE.match(line)) and match["slug"] in known:
            found.append(Mention(match["slug"], "drifted", step=f"{tier}: drift", error=shorten(match["what"])))
    return found, counts


def mentions_from_message(message: str, slugs: Iterable[str], step: str) -> list:
    """Failed spaces named in a failure message: ``… [<slug>] <why> [<slug>] <why> …``.

    :param message: the failed result's ``msg``.
    :param slugs: the selected slugs.
    :param step: what failed (``<tier>: <task>``).
    :returns: one failed mention per selected slug named.
    """
    known = set(slugs)
    return [Mention(m["slug"], "failed", step=step, error=shorten(m["why"]))
            for m in _BRACKETED.finditer(message) if m["slug"] in known]


def mentions_from_result(res: Mapping, slugs: Iterable[str], step: str) -> list:
    """Mentions in an uncensored ``nuagerie_nextcloud_spaces`` result (``outcomes``, ``failed_spaces``).

    :param res: a module result.
    :param slugs: the selected slugs.
    :param step: the task (``<tier>: <task>``).
    :returns: mentions (failed ones carry the reason); none for results of another shape.
    """
    known = set(slugs)
    found: list = []
    outcomes = res.get("outcomes")
    if isinstance(outcomes, Mapping):
        for name, members in outcomes.items():
            if name in _RESULT_OUTCOMES and isinstance(members, (list, tuple)):
                found.extend(Mention(slug, _RESULT_OUTCOMES[name], step=step) for slug in members if slug in known)
    failed = res.get("failed_spaces")
    if isinstance(failed, Mapping):
        found.extend(Mention(slug, "failed", step=step, error=shorten(why)) for slug, why in failed.items() if slug in known)
    return found


def covers_selection(event: Mapping) -> bool:
    """Whether an event reports on every selected space at once (unnamed spaces are fine).

    :param event: an ansible-runner event.
    :returns: true for the occ count line and the occ and office check verdicts.
    """
    res = (event.get("event_data") or {}).get("res") or {}
    if not isinstance(res, Mapping):
        return False
    msg = res.get("msg")
    lines = msg if isinstance(msg, list) else [msg] if isinstance(msg, str) else []
    return any(isinstance(line, str) and (_COUNT_LINE.match(line) or any(m in line for m in _COVERING_MESSAGES))
               for line in lines)


def event_mentions(event: Mapping, slugs: Sequence[str], item_seconds: float | None = None) -> list:
    """Every mention of a selected space in one event.

    :param event: an ansible-runner event (``event``, ``event_data``).
    :param slugs: the selected slugs.
    :param item_seconds: for a loop item, the time since the previous item (or the task's start).
    :returns: the mentions, possibly none.
    """
    kind = event.get("event", "")
    data = event.get("event_data") or {}
    res = data.get("res") if isinstance(data.get("res"), Mapping) else {}
    step = f"{data.get('play', '?')}: {data.get('task', '?')}"
    if kind in ("runner_item_on_ok", "runner_item_on_failed"):
        slug = slug_of_label(res.get("_ansible_item_label", res.get("item")), slugs)
        if slug is None:
            return []
        if kind == "runner_item_on_failed":
            return [Mention(slug, "failed", step=step, error=result_message(res), seconds=item_seconds)]
        return [Mention(slug, "changed" if res.get("changed") else "ok", step=step, seconds=item_seconds)]
    if kind not in ("runner_on_ok", "runner_on_failed"):
        return []
    found = mentions_from_result(res, slugs, step)
    msg = res.get("msg")
    if kind == "runner_on_ok" and isinstance(msg, list):
        found.extend(mentions_from_lines(msg, slugs, data.get("play", "?"))[0])
    if kind == "runner_on_failed" and isinstance(msg, str):
        found.extend(mentions_from_message(msg, slugs, step))
    return found


def merge(space: Space, mention: Mention) -> None:
    """Fold one mention into a space: the most significant outcome wins, steps accumulate.

    :param space: the space's state (updated).
    :param mention: the evidence.
    """
    if space.outcome is None or OUTCOMES.index(mention.outcome) < OUTCOMES.index(space.outcome):
        space.outcome = mention.outcome
    if mention.step and mention.step not in space.steps:
        space.steps.append(mention.step)
    if mention.error and space.error is None:
        space.error = mention.error
    if mention.seconds is not None:
        space.seconds = round((space.seconds or 0.0) + mention.seconds, 3)


def conclude(state: RunState, successful: bool) -> None:
    """Give every space its final outcome once the run has ended.

    A space no event named is ``ok`` when the run succeeded or a whole-selection summary covered
    it, and ``not_reached`` otherwise (the run stopped before the work that would name it).

    :param state: the folded state (its spaces are updated).
    :param successful: whether the run ended successfully.
    """
    for space in state.spaces.values():
        if space.outcome is None:
            space.outcome = "ok" if successful or space.covered else "not_reached"


class RunFolder:
    """Accumulate events into a :class:`RunState`, one event at a time (live view and report).

    :param slugs: the selected spaces, in display order.
    """

    def __init__(self, slugs: Sequence[str]) -> None:
        self.slugs = list(dict.fromkeys(slugs))
        self.state = RunState(spaces={slug: Space(slug) for slug in self.slugs})
        self._tiers_by_uuid: dict = {}
        self._last_seen: dict = {}

    def _tier(self, data: Mapping, created: str) -> Tier | None:
        key = data.get("play_uuid")
        if key is None:
            return None
        tier = self._tiers_by_uuid.get(key)
        if tier is None:
            tier = Tier(name=data.get("play", "?"), started=created, ended=created)
            self._tiers_by_uuid[key] = tier
            self.state.tiers.append(tier)
        tier.ended = created
        return tier

    def feed(self, event: Mapping) -> list:
        """Fold one event.

        :param event: an ansible-runner event.
        :returns: the mentions it carried (the live view shows them).
        """
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        created = event.get("created") or ""
        self.state.started = self.state.started or created or None
        self.state.ended = created or self.state.ended
        tier = self._tier(data, created)
        key = (data.get("task_uuid"), data.get("host"))
        item_seconds = None
        if kind == "playbook_on_task_start" and tier is not None:
            tier.tasks += 1
            tier.current_task = data.get("task")
        elif kind == "runner_on_start":
            self._last_seen[key] = created
        elif kind.startswith("runner_item_on_"):
            item_seconds = seconds_between(self._last_seen.get(key), created)
            self._last_seen[key] = created
        elif kind in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_on_skipped") and tier:
            self._count(tier, kind, data)
        elif kind == "playbook_on_stats":
            self.state.stats = {name: dict(data.get(name) or {}) for name in
                                ("ok", "changed", "failures", "dark", "skipped", "ignored", "rescued", "processed")}
        elif kind == "verbose" and str(event.get("stdout", "")).startswith("nuagerie: "):
            self.state.summary_line = str(event["stdout"]).strip()
        res = data.get("res") if isinstance(data.get("res"), Mapping) else {}
        if kind == "runner_on_ok" and data.get("task_action") in ("debug", "ansible.builtin.debug"):
            msg = res.get("msg")
            self.state.messages.extend(msg if isinstance(msg, list) else [msg] if isinstance(msg, str) else [])
            if isinstance(msg, list):
                self.state.playbook_counts.update(mentions_from_lines(msg, (), "")[1])
        if covers_selection(event):
            for space in self.state.spaces.values():
                space.covered = True
        found = event_mentions(event, self.slugs, item_seconds)
        for mention in found:
            merge(self.state.spaces[mention.slug], mention)
        return found

    def _count(self, tier: Tier, kind: str, data: Mapping) -> None:
        res = data.get("res") if isinstance(data.get("res"), Mapping) else {}
        host = data.get("host", "?")
        tier.hosts.add(host)
        if kind == "runner_on_failed" and data.get("ignore_errors"):
            tier.results["ignored"] += 1
            return
        name = {"runner_on_ok": "ok", "runner_on_failed": "failed", "runner_on_unreachable": "unreachable",
                "runner_on_skipped": "skipped"}[kind]
        tier.results[name] += 1
        if name == "ok" and res.get("changed"):
            tier.results["changed"] += 1
        if name in ("failed", "unreachable"):
            self.state.host_failures.append(HostFailure(tier.name, data.get("task", "?"), host, name,
                                                        result_message(res)))


def reduce_events(events: Iterable[Mapping], slugs: Sequence[str], successful: bool) -> RunState:
    """Fold a whole recorded run.

    :param events: the run's events in order (``runner.events`` or ``artifacts/<id>/job_events``).
    :param slugs: the selected spaces.
    :param successful: whether the run ended successfully (``status == "successful"``).
    :returns: the concluded state.
    """
    folder = RunFolder(slugs)
    for event in events:
        folder.feed(event)
    conclude(folder.state, successful)
    return folder.state
