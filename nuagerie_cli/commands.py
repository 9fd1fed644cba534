"""What each ``nuagerie`` command runs: one playbook, with the arguments an operator would type.

The CLI adds nothing the playbooks cannot do: :func:`invocation` builds the exact
``ansible-playbook`` argument list, which ``--explain`` prints and ansible-runner executes
(from the repository root, so ``ansible.cfg`` applies). Pure functions, no I/O.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ENVIRONMENTS = ("lab", "staging", "production")


@dataclass(frozen=True)
class Command:
    """A command of the CLI.

    :ivar name: the sub-command.
    :ivar playbook: the playbook it runs, relative to the repository root (``None``: runs none).
    :ivar site_playbook: the playbook with ``--site`` (``None``: ``--site`` is refused).
    :ivar check: whether the command always runs in check mode (``--check --diff``).
    :ivar summary: one line for ``--help`` and ``docs/cli.md``.
    :ivar missing: what to say when the playbook does not exist yet.
    """

    name: str
    playbook: str | None
    summary: str
    site_playbook: str | None = None
    check: bool = False
    missing: str = ""


COMMANDS = {
    command.name: command for command in (
        Command("plan", "playbooks/spaces.yml", "what apply would change, changing nothing (check mode)",
                site_playbook="playbooks/site.yml", check=True),
        Command("apply", "playbooks/spaces.yml", "converge the spaces of the catalogue (the daily job; --site: the whole platform)",
                site_playbook="playbooks/site.yml"),
        Command("upgrade", "playbooks/upgrade.yml",
                "move the spaces to their catalogue release: pre-flight, canary, waves, rollback, resume"),
        Command("drift", "playbooks/spaces-drift.yml", "report, per space, what differs from the catalogue "
                "(--fix: then converge those spaces)"),
        Command("check-office", "playbooks/spaces-office-check.yml", "check that every active space reaches its office suite"),
        Command("status", None, "show the environment's lock holder and the last run's report"),
        Command("unlock", None, "remove the environment's lock (only with --force, after checking no run is acting)"),
    )
}


@dataclass(frozen=True)
class Options:
    """What the operator asked for.

    :ivar command: the sub-command.
    :ivar env: the environment (``inventories/<env>/hosts.yml``).
    :ivar spaces: the selected slugs (``-e spaces=a,b``), empty for the whole catalogue.
    :ivar check: ``--check --diff``.
    :ivar site: run ``site.yml`` instead of ``spaces.yml`` (plan and apply).
    :ivar vault_ids: ``--vault-id`` values, passed through.
    :ivar confirm_delete_data: ``-e confirm_delete_data=…``, passed through when set.
    :ivar verify: ``-e nextcloud_occ_verify=true`` (occ probes the selected spaces whatever their
        stamps say: how ``drift --fix`` repairs hand edits).
    :ivar inventories: ``-i`` sources instead of ``inventories/<env>/hosts.yml`` (e.g. a molecule
        scenario's inventory; ``env`` still names the lock and the runs).
    """

    command: str
    env: str = "lab"
    spaces: tuple = ()
    check: bool = False
    site: bool = False
    vault_ids: tuple = ()
    confirm_delete_data: str | None = None
    verify: bool = False
    inventories: tuple = ()


@dataclass(frozen=True)
class Invocation:
    """The ansible-playbook run of a command.

    :ivar playbook: relative to the repository root.
    :ivar args: the arguments before the playbook (ansible-runner's ``cmdline``).
    """

    playbook: str
    args: tuple

    @property
    def argv(self) -> list:
        """The full command line, as ansible-runner builds it (``ansible-playbook <args> <playbook>``)."""
        return ["ansible-playbook", *self.args, self.playbook]


def parse_spaces(text: str | None) -> tuple:
    """The slugs of ``--spaces a,b`` (blank entries dropped, order and first occurrence kept).

    :param text: the option's value, or ``None``.
    :returns: a tuple of slugs.
    """
    return tuple(dict.fromkeys(part.strip() for part in (text or "").split(",") if part.strip()))


def invocation(options: Options) -> Invocation:
    """The playbook and arguments of a command.

    :param options: the parsed options.
    :returns: the invocation.
    :raises ValueError: for a command that runs no playbook, or ``--site`` where it has no meaning.
    """
    command = COMMANDS[options.command]
    if command.playbook is None:
        raise ValueError(f"nuagerie {command.name} runs no playbook")
    if options.site and command.site_playbook is None:
        raise ValueError(f"--site applies to plan and apply only, not to {command.name}")
    playbook = command.site_playbook if options.site else command.playbook
    args: list = []
    for source in options.inventories or (f"inventories/{options.env}/hosts.yml",):
        args += ["-i", source]
    for vault_id in options.vault_ids:
        args += ["--vault-id", vault_id]
    if command.check or options.check:
        args += ["--check", "--diff"]
    if options.spaces:
        args += ["-e", "spaces=" + ",".join(options.spaces)]
    if options.confirm_delete_data is not None:
        args += ["-e", "confirm_delete_data=" + options.confirm_delete_data]
    if options.verify:
        args += ["-e", "nextcloud_occ_verify=true"]
    return Invocation(playbook=playbook, args=tuple(args))


def fix_options(options: Options, drifted: Sequence[str]) -> Options:
    """What ``drift --fix`` runs once drift is found: ``apply`` of the drifted spaces only, with
    occ probing them whatever their stamps say.

    :param options: the drift command's options.
    :param drifted: the slugs the drift run reported.
    :returns: the options of the converging run.
    """
    return Options(command="apply", env=options.env, spaces=tuple(drifted), check=options.check,
                   vault_ids=options.vault_ids, verify=True, inventories=options.inventories)


def explain(root: Path, run: Invocation, extra_env: Sequence = ()) -> str:
    """The shell line that does what the command does, for ``--explain``.

    :param root: the repository root (the run's working directory).
    :param run: the invocation.
    :param extra_env: ``NAME=value`` settings the CLI adds to the environment (e.g. ARA's).
    :returns: ``cd <root> && [ENV=…] ansible-playbook …``.
    """
    prefix = " ".join(shlex.quote(item) for item in extra_env)
    return f"cd {shlex.quote(str(root))} && {prefix + ' ' if prefix else ''}{shlex.join(run.argv)}"
