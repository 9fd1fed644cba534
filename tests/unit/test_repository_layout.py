"""Checks on the repository's own data: inventories, vaults, lab tooling.

These guard the promises of the foundation: the same group names in every environment,
no lab-only switch in a real inventory, encrypted vaults, pinned artifacts, and a base
image that is rebuilt exactly when its recipe changes.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("lab", "staging", "production")
REAL_ENVIRONMENTS = ("staging", "production")


def groups_of(node: dict, into: set[str] | None = None) -> set[str]:
    """Return every group name below an inventory node (``children`` recursively)."""
    into = set() if into is None else into
    for name, child in ((node or {}).get("children") or {}).items():
        into.add(name)
        groups_of(child, into)
    return into


def load_inventory(env: str) -> dict:
    return yaml.safe_load((ROOT / "inventories" / env / "hosts.yml").read_text())["all"]


def test_groups_of_walks_nested_children() -> None:
    tree = {"children": {"a": {"children": {"b": {"hosts": {"h": None}}}}, "c": {}}}
    assert groups_of(tree) == {"a", "b", "c"}


@pytest.mark.parametrize("env", REAL_ENVIRONMENTS)
def test_every_environment_has_the_lab_group_names(env: str) -> None:
    assert groups_of(load_inventory(env)) == groups_of(load_inventory("lab"))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_hosts_files_hold_no_variables(env: str) -> None:
    """Variables belong in group_vars; hosts.yml names groups and hosts only."""
    def walk(node: dict) -> None:
        assert set(node or {}) <= {"children", "hosts"}, f"{env}: unexpected keys {set(node)}"
        for host, host_vars in ((node or {}).get("hosts") or {}).items():
            assert not host_vars, f"{env}: host {host} carries variables in hosts.yml"
        for child in ((node or {}).get("children") or {}).values():
            walk(child)
    walk(load_inventory(env))


@pytest.mark.parametrize("env", REAL_ENVIRONMENTS)
def test_real_inventories_use_no_lab_only_switch_or_stand_in(env: str) -> None:
    text = "\n".join(p.read_text() for p in (ROOT / "inventories" / env).rglob("*.yml"))
    assert not re.search(r"pki_generate_ca:\s*true", text)
    assert "nuagerie_lab_artifacts" not in text
    assert not re.search(r"stand-?in", text, re.IGNORECASE)
    assert not (ROOT / "inventories" / env / "vault-password.txt").exists()


def test_every_committed_vault_is_encrypted() -> None:
    for vault in ROOT.glob("inventories/*/group_vars/*/vault.yml"):
        assert vault.read_text().startswith("$ANSIBLE_VAULT;"), f"{vault} is not encrypted"


def read_artifacts() -> list[list[str]]:
    rows = []
    for line in (ROOT / "lab" / "artifacts.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


def test_artifacts_are_pinned_to_exact_module_versions() -> None:
    rows = read_artifacts()
    assert {row[0] for row in rows} >= {"minio", "mc", "imaginary"}
    for name, package, version, deps in rows:
        assert package.startswith("github.com/"), name
        # An exact semver or pseudo-version: never a branch, "latest" or a tag query.
        assert re.fullmatch(r"v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", version), f"{name}: {version}"
        assert deps == "-" or all(re.fullmatch(r"[a-z0-9.+-]+", d) for d in deps.split(","))


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_base_image_tag_changes_exactly_when_the_recipe_changes(tmp_path: Path) -> None:
    script = ROOT / "lab" / "base-image.sh"
    copy = tmp_path / "base-image.sh"

    def tag_of(path: Path) -> str:
        return subprocess.run(["bash", str(path), "--print-tag"], check=True,
                              capture_output=True, text=True).stdout.strip()

    copy.write_text(script.read_text())
    original = tag_of(script)
    assert re.fullmatch(r"nuagerie-base:bookworm-[0-9a-f]{12}", original)
    assert tag_of(copy) == original
    copy.write_text(script.read_text().replace("packages=python3,", "packages=python3,vim,"))
    assert tag_of(copy) != original
