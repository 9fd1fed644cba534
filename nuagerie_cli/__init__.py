"""``nuagerie``: the operator's front end to the playbooks, built on ansible-runner (issue 17).

Every command maps to one playbook of ``playbooks/`` (``nuagerie <command> --explain`` prints
the exact ``ansible-playbook`` line); the CLI adds a live view, a per-space report, kept
artifacts and a per-environment lock, never a change the playbooks would not make.
See ``docs/cli.md``.
"""

__version__ = "0.1.0"
