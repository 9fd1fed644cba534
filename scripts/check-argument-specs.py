#!/usr/bin/env python3
"""Keep every role's meta/argument_specs.yml honest against its defaults/main.yml.

Each key of defaults/main.yml must be documented as an option of the `main` entry point,
and each optional option must have a default there (required inputs and secrets have
none: they appear in defaults/main.yml only as comments). Exits 1 listing every mismatch.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml


def check_role(role: Path) -> list[str]:
    """Return the mismatches of one role directory (empty when it is consistent)."""
    defaults_file = role / "defaults" / "main.yml"
    specs_file = role / "meta" / "argument_specs.yml"
    if not specs_file.is_file():
        return [f"{specs_file}: missing (every role documents its inputs there)"]
    defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.is_file() else {}
    defaults = defaults or {}
    specs = yaml.safe_load(specs_file.read_text()) or {}
    options = ((specs.get("argument_specs") or {}).get("main") or {}).get("options") or {}
    problems = []
    for key in sorted(set(defaults) - set(options)):
        problems.append(f"{defaults_file}: '{key}' has a default but no entry in {specs_file}")
    for key, spec in sorted(options.items()):
        if not (spec or {}).get("required") and key not in defaults:
            problems.append(f"{specs_file}: optional '{key}' has no default in {defaults_file} (add one, or mark it required: true)")
    return problems


def main(root: Path) -> int:
    problems = [p for role in sorted((root / "roles").iterdir()) if role.is_dir() for p in check_role(role)]
    for problem in problems:
        print(problem)
    print(f"argument specs: {len(problems)} problem(s) in {len(list((root / 'roles').iterdir()))} roles")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(__file__).resolve().parent.parent))
