"""execution-environment.yml (ansible-builder v3, for AWX / Automation Controller / Semaphore) names
exactly the toolchain pinned in requirements/dev.txt, and its collections are requirements.yml's."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EE = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
#: Packages of requirements/dev.txt an execution environment needs to run the playbooks; the
#: rest (molecule, ansible-lint, pytest, …) is the test toolchain.
EE_PACKAGES = {"ansible-core", "ansible-runner", "ansible", "cryptography"}


def pins(lines: list) -> dict:
    """name -> version of ``name==version`` requirement lines (extras dropped)."""
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([A-Za-z0-9_.+-]+)", line)
        assert match, f"not an exact pin: {line!r}"
        out[match[1].lower()] = match[2]
    return out


DEV = pins((ROOT / "requirements" / "dev.txt").read_text().splitlines())


def ee_pins() -> dict:
    deps = EE["dependencies"]
    lines = [deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"], *deps["python"]]
    return pins(lines)


def test_ee_is_builder_v3_without_galaxy() -> None:
    assert EE["version"] == 3
    assert "galaxy" not in EE["dependencies"], "collections come from the pinned `ansible` package"
    assert EE["images"]["base_image"]["name"].rsplit(":", 1)[1] not in ("", "latest")


def test_ee_names_exactly_the_pinned_runtime_packages() -> None:
    assert set(ee_pins()) == EE_PACKAGES
    assert ee_pins() == {name: DEV[name] for name in EE_PACKAGES}


def test_ee_python_is_one_ansible_core_supports() -> None:
    path = EE["dependencies"]["python_interpreter"]["python_path"]
    assert re.fullmatch(r"/usr/bin/python3\.(1[1-9])", path)
    assert EE["dependencies"]["python_interpreter"]["package_system"] == Path(path).name


def installed_collections() -> dict:
    import ansible_collections

    base = Path(list(ansible_collections.__path__)[0])
    out = {}
    for manifest in base.glob("*/*/MANIFEST.json"):
        info = json.loads(manifest.read_text())["collection_info"]
        out[f"{info['namespace']}.{info['name']}"] = info["version"]
    return out


def test_the_pinned_ansible_package_bundles_exactly_requirements_yml_collections() -> None:
    from importlib.metadata import version

    if version("ansible") != DEV["ansible"]:
        pytest.skip("the venv's ansible package is not the pinned one (run scripts/bootstrap)")
    wanted = {c["name"]: c["version"] for c in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]}
    bundled = installed_collections()
    assert {name: bundled.get(name) for name in wanted} == wanted
