"""Nuagerie: which release each space runs, and the plan that moves spaces to their target.

A space's *target* release is its catalogue record's ``nextcloud_release`` (the space's pin, else
the farm default). The release it *runs* is its ``release`` link on the frontends
(``<spaces_root>/<slug>/release -> <releases_dir>/<version>``). Only ``playbooks/upgrade.yml``
moves a link from one release to another (with ``occ upgrade``, a dump and a rollback): the
daily playbooks render every installed space at the release it runs (:func:`spaces_at_releases`),
so raising the farm default never upgrades 10,000 spaces at once by accident.

:func:`upgrade_plan` turns the fleet into a chain per space (one major at a time, upstream's
``$OC_VersionCanBeUpgradedFrom``), a canary wave and bounded waves. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ansible.errors import AnsibleFilterError

_VERSION = re.compile(r"^([0-9]+)\.([0-9]+)\.([0-9]+)$")


def _version_key(version: str) -> tuple[int, int, int]:
    match = _VERSION.match(str(version))
    if not match:
        raise AnsibleFilterError(f"release {version!r} is not MAJOR.MINOR.PATCH")
    return tuple(int(part) for part in match.groups())


def live_releases(reads: Iterable[Mapping], releases_dir: str) -> dict[str, str]:
    """The release each space runs, from the ``release`` links read on the frontends.

    :param reads: the registered results of one ``find -printf '%h %l\\n'`` per frontend, in
        order of preference (the occ host first): ``stdout_lines`` are
        ``"<space dir> <link target>"``.
    :param releases_dir: the role input ``nextcloud_releases_dir``; a link elsewhere is ignored.
    :returns: ``{slug: version}``; the first frontend that has a space's link wins (a rebuilt
        frontend has none yet, the others still know).
    """
    prefix = releases_dir.rstrip("/") + "/"
    out: dict[str, str] = {}
    for read in reads:
        for line in read.get("stdout_lines") or []:
            space_dir, _, target = str(line).partition(" ")
            slug = space_dir.rstrip("/").rsplit("/", 1)[-1]
            if not target.startswith(prefix) or not slug:
                continue
            version = target[len(prefix):].strip("/")
            if _VERSION.match(version):
                out.setdefault(slug, version)
    return dict(sorted(out.items()))


def spaces_at_releases(spaces: Iterable[Mapping], releases: Mapping[str, str]) -> list[dict]:
    """Space records with ``nextcloud_release`` set to the release each one runs.

    A space that runs no release yet (new) keeps its catalogue release. No other key changes: the
    occ steps' stamps hash the record, and the plan must hash the same record.

    :param spaces: space records (``nuagerie_spaces``).
    :param releases: ``{slug: version}`` (:func:`live_releases`, possibly combined with the
        links an upgrade wave switches).
    :returns: new records, same order.
    """
    out = []
    for space in spaces:
        record = dict(space)
        if space["slug"] in releases:
            record["nextcloud_release"] = releases[space["slug"]]
        out.append(record)
    return out


def release_chain(current: str, target: str, available: Iterable[str]) -> tuple[list[str], str | None]:
    """The releases a space goes through from ``current`` to ``target``, one major at a time.

    Upstream upgrades only from the previous major or within a major; each step is the newest
    release of the next major that the farm provides, the last step the target itself.

    :param current: the release the space runs.
    :param target: its catalogue release.
    :param available: every release the farm provides (``nuagerie_nextcloud_releases``).
    :returns: ``(chain, problem)``: the releases to pass through, target last (empty when at
        target), or ``([], why)`` when the space cannot get there.
    """
    now, goal = _version_key(current), _version_key(target)
    if now == goal:
        return [], None
    if goal < now:
        return [], f"runs {current}, newer than its target {target}: Nextcloud refuses downgrades"
    newest: dict[int, str] = {}
    for version in available:
        key = _version_key(version)
        if key <= goal and (key[0] not in newest or key > _version_key(newest[key[0]])):
            newest[key[0]] = version
    chain = []
    for major in range(now[0] + 1, goal[0]):
        if major not in newest:
            return [], (f"no release of major {major} in the farm's releases: Nextcloud upgrades one "
                        f"major at a time ({current} -> {major}.x -> … -> {target}); add a {major}.x release")
        chain.append(newest[major])
    chain.append(target)
    return chain, None


def upgrade_plan(spaces: Iterable[Mapping], live: Mapping[str, str], available: Iterable[str],
                 canary: object = 1, wave_size: int = 10,
                 blocked: Mapping[str, str] | None = None,
                 in_flight: Mapping[str, Mapping] | None = None) -> dict:
    """The waves that move every active space from the release it runs to its target.

    :param spaces: the space records acted on (``nuagerie_spaces_selected``).
    :param live: ``{slug: version}`` each space runs (:func:`live_releases`).
    :param available: every release the farm provides.
    :param canary: how many spaces go first, alone in their wave (an int), or the list of
        their slugs.
    :param wave_size: spaces per later wave.
    :param blocked: ``{slug: why}`` found by the pre-flight (apps, PHP, disk): they stay put.
    :param in_flight: upgrade records ``{slug: record}`` read on the occ host: a space whose
        record is in flight first finishes (or rolls back) its recorded step, whatever its
        target is now, so no run leaves it in maintenance.
    :returns: ``{spaces: {slug: {from, to, chain, status, why}}, waves: [{step, name,
        spaces: [{slug, from, to}]}], counts}``; status is ``upgrade``, ``current`` (at target),
        ``blocked``, ``not-installed`` or ``inactive``.
    """
    if int(wave_size) < 1:
        raise AnsibleFilterError(f"upgrade wave size must be at least 1, got {wave_size!r}")
    available = [str(v) for v in available]
    blocked = dict(blocked or {})
    rows: dict[str, dict] = {}
    for space in spaces:
        slug, target = space["slug"], str(space["nextcloud_release"])
        row = {"from": live.get(slug), "to": target, "chain": [], "status": "", "why": ""}
        rows[slug] = row
        if space["state"] != "active":
            row.update(status="inactive", why=f"state {space['state']}: upgraded when enabled again")
            continue
        if slug not in live:
            row.update(status="not-installed", why="runs no release yet (spaces.yml installs it at its target)")
            continue
        chain, problem = release_chain(live[slug], target, available)
        record = (in_flight or {}).get(slug) or {}
        if record.get("phase") in _IN_FLIGHT and record.get("to") and (not chain or chain[0] != record["to"]):
            rest, _ = release_chain(str(record["to"]), target, available)
            chain, problem = [str(record["to"]), *rest], None
        row["chain"] = chain
        if problem:
            row.update(status="blocked", why=problem)
        elif not chain:
            row["status"] = "current"
        elif slug in blocked and not record.get("phase") in _IN_FLIGHT:
            row.update(status="blocked", why=blocked[slug])
        else:
            row["status"] = "upgrade"
    moving = [slug for slug, row in sorted(rows.items()) if row["status"] == "upgrade"]
    if isinstance(canary, (list, tuple)):
        unknown = sorted(set(canary) - set(rows))
        if unknown:
            raise AnsibleFilterError(f"upgrade canary names spaces that are not acted on: {', '.join(unknown)}")
        first = [slug for slug in canary if slug in moving]
    else:
        first = moving[:max(int(canary), 0)]
    order = first + [slug for slug in moving if slug not in first]
    waves = []
    steps = max((len(rows[slug]["chain"]) for slug in moving), default=0)
    for step in range(steps):
        batch = [slug for slug in order if len(rows[slug]["chain"]) > step]
        groups = [batch[:len(first)]] if step == 0 and first else []
        rest = batch[len(first):] if step == 0 and first else batch
        groups += [rest[i:i + int(wave_size)] for i in range(0, len(rest), int(wave_size))]
        for number, group in enumerate(g for g in groups if g):
            label = "canary" if step == 0 and first and number == 0 else f"wave {number + (0 if first and step == 0 else 1)}"
            waves.append({
                "step": step + 1,
                "name": f"step {step + 1}/{steps} {label}",
                "spaces": [{"slug": slug,
                            "from": live[slug] if step == 0 else rows[slug]["chain"][step - 1],
                            "to": rows[slug]["chain"][step]} for slug in group],
            })
    counts: dict[str, int] = {}
    for row in rows.values():
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return {"spaces": rows, "waves": waves, "counts": dict(sorted(counts.items()))}


def upgrade_wave(occ_spaces: Iterable[Mapping], wave: Mapping) -> list[dict]:
    """The module input of one wave: each space's occ state plus its ``from`` and ``to``.

    :param occ_spaces: ``nuagerie_nextcloud_occ_spaces`` of the spaces acted on.
    :param wave: an item of :func:`upgrade_plan`'s ``waves``.
    :returns: one dict per space of the wave, in the wave's order.
    """
    by_slug = {space["slug"]: space for space in occ_spaces}
    out = []
    for item in wave["spaces"]:
        if item["slug"] not in by_slug:
            raise AnsibleFilterError(f"upgrade wave names {item['slug']!r}, which is not acted on")
        out.append({**by_slug[item["slug"]], "from": item["from"], "to": item["to"],
                    "step": int(wave["step"])})
    return out


def upgrade_plan_lines(plan: Mapping) -> list[str]:
    """A readable plan: waves with their spaces, then the spaces that stay and why.

    :param plan: :func:`upgrade_plan`'s result.
    :returns: lines for ``debug``.
    """
    counts = ", ".join(f"{n} {status}" for status, n in plan["counts"].items()) or "no space"
    lines = [f"upgrade plan: {counts}; {len(plan['waves'])} wave(s)"]
    for wave in plan["waves"]:
        moves = ", ".join(f"{s['slug']} {s['from']}->{s['to']}" for s in wave["spaces"])
        lines.append(f"{wave['name']}: {moves}")
    for slug, row in sorted(plan["spaces"].items()):
        if row["status"] in ("blocked", "not-installed", "inactive"):
            lines.append(f"[{slug}] stays on {row['from'] or 'no release'} ({row['status']}): {row['why']}")
    return lines


#: Record phases whose space runs (or is about to run) the target release.
_AT_TARGET = ("prepared", "upgraded", "done")


def upgrade_links(records: Mapping[str, Mapping]) -> dict[str, str]:
    """The release link each space of a wave must have, from its upgrade record.

    A space prepared, upgraded or done runs its target; any other (failed, restored, rolled
    back) its old release: switching back first is harmless, maintenance mode is still on.

    :param records: ``{slug: record}`` as the module returns them.
    :returns: ``{slug: version}``.
    """
    return {slug: str(rec["to"] if rec.get("phase") in _AT_TARGET else rec["from"])
            for slug, rec in sorted(records.items()) if rec.get("from") and rec.get("to")}


def upgrade_report(plan: Mapping, records: Mapping[str, Mapping]) -> list[dict]:
    """One row per space acted on: where it started, where it is, what happened.

    :param plan: :func:`upgrade_plan`'s result.
    :param records: ``{slug: record}`` of every space that was in a wave.
    :returns: rows ``{space, from, to, release, outcome, downtime_seconds (until every frontend
        serves it), occ_host_downtime_seconds (until the occ host did), occ_upgrade_seconds,
        error}`` sorted by slug; outcome is ``upgraded``, ``rolled back``, ``failed`` (left in
        maintenance: see the error), ``blocked``, ``current``, ``not-installed``, ``inactive``
        or ``not reached`` (the error budget stopped the fleet first).
    """
    rows = []
    for slug, row in sorted(plan["spaces"].items()):
        rec = records.get(slug) or {}
        outcome, release = row["status"], row["from"]
        if row["status"] == "upgrade":
            target = row["chain"][-1]
            if rec.get("phase") == "done" and rec.get("to") == target:
                outcome, release = "upgraded", target
            elif rec.get("phase") == "done":
                outcome, release = "not reached", rec.get("to")
            elif rec.get("phase") == "rolled_back":
                outcome, release = "rolled back", rec.get("from")
            elif rec:
                outcome, release = "failed", rec.get("from")
            else:
                outcome = "not reached"
        rows.append({"space": slug, "from": row["from"], "to": row["to"], "release": release,
                     "outcome": outcome, "downtime_seconds": rec.get("downtime_seconds"),
                     "occ_host_downtime_seconds": rec.get("occ_host_downtime_seconds"),
                     "occ_upgrade_seconds": rec.get("occ_upgrade_seconds"),
                     "error": rec.get("error") or (row["why"] if outcome in ("blocked",) else "")})
    return rows


def upgrade_chains(rows: Mapping[str, Mapping]) -> dict[str, list[str]]:
    """``{slug: chain}`` of plan rows (the pre-flight checks each release of a chain).

    :param rows: ``{slug: row}`` of :func:`upgrade_plan`'s ``spaces``.
    :returns: ``{slug: [release, ...]}``.
    """
    return {slug: list(row.get("chain") or []) for slug, row in sorted(rows.items())}


def upgrade_report_lines(rows: Iterable[Mapping]) -> list[str]:
    """The report as a table for ``debug``: space, from, to, release now, outcome, downtime.

    :param rows: :func:`upgrade_report`'s rows.
    :returns: lines, a header first.
    """
    rows = list(rows)
    out = [f"{'space':<24} {'from':<9} {'to':<9} {'now':<9} {'outcome':<13} {'downtime':>9}  error"]
    for row in rows:
        downtime = "" if row.get("downtime_seconds") is None else f"{row['downtime_seconds']:.1f} s"
        out.append(f"{row['space']:<24} {row['from'] or '-':<9} {row['to']:<9} {row['release'] or '-':<9} "
                   f"{row['outcome']:<13} {downtime:>9}  {row.get('error') or ''}".rstrip())
    return out


#: Record phases of a space whose upgrade was interrupted (a killed run) or is being rolled back.
_IN_FLIGHT = ("preparing", "prepared", "upgraded", "failed", "restored")


def upgrade_resume_live(live: Mapping[str, str], records: Mapping[str, Mapping]) -> dict[str, str]:
    """The release each space runs, for planning a run that may resume an interrupted one.

    A space whose record is in flight counts as still on the release it left: the plan puts it
    in a wave again, and each phase takes it up where the record says (never twice).

    :param live: :func:`live_releases`.
    :param records: ``{slug: record}`` read on the occ host.
    :returns: ``{slug: version}``.
    """
    out = dict(live)
    for slug, rec in records.items():
        if rec.get("phase") in _IN_FLIGHT and rec.get("from"):
            out[slug] = str(rec["from"])
    return dict(sorted(out.items()))


def upgrade_wave_failures(records: Mapping[str, Mapping], wave: Mapping) -> int:
    """How many spaces of a wave did not reach the wave's target for them.

    :param records: ``{slug: record}`` after the wave.
    :param wave: the wave (its spaces' ``to``).
    :returns: the count of spaces whose record for this step is not ``done``.
    """
    count = 0
    for item in wave["spaces"]:
        rec = records.get(item["slug"]) or {}
        if rec.get("to") == item["to"] and rec.get("phase") != "done":
            count += 1
    return count


class FilterModule:
    """Release-link and upgrade-plan filters of the web tier."""

    def filters(self) -> dict:
        """Map filter names to functions.

        :returns: the filter table.
        """
        return {
            "nuagerie_nextcloud_live_releases": live_releases,
            "nuagerie_spaces_at_releases": spaces_at_releases,
            "nuagerie_nextcloud_upgrade_plan": upgrade_plan,
            "nuagerie_nextcloud_upgrade_wave": upgrade_wave,
            "nuagerie_nextcloud_upgrade_plan_lines": upgrade_plan_lines,
            "nuagerie_nextcloud_upgrade_links": upgrade_links,
            "nuagerie_nextcloud_upgrade_report": upgrade_report,
            "nuagerie_nextcloud_upgrade_chains": upgrade_chains,
            "nuagerie_nextcloud_upgrade_resume_live": upgrade_resume_live,
            "nuagerie_nextcloud_upgrade_wave_failures": upgrade_wave_failures,
            "nuagerie_nextcloud_upgrade_report_lines": upgrade_report_lines,
        }
