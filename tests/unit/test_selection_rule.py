"""The rule of issue 11, checked on the roles' source: a selection (-e spaces=) narrows what is
acted on, never what exists.

Whole-farm artefacts (every ``nuagerie_web_files`` task: config dirs, pools, nginx map, timers;
the Redis ACL file; PostgreSQL's sizing) must be rendered from ``nuagerie_spaces`` (the whole
catalogue); per-space modules (databases, buckets, occ steps) must receive the selection. The
molecule platform scenario proves the outcome (verify-selection.yml); this test makes the
mistake fail in seconds, before any host is touched.
"""

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).parents[2]
ROLES = ROOT / "roles"

#: Per-space modules and the variable their ``spaces`` argument must come from.
PER_SPACE = {
    "nuagerie_nextcloud_spaces": "nuagerie_spaces_selected",
    "nuagerie_minio_spaces": "minio_spaces_selected",
    "nuagerie_postgresql_spaces": "__postgresql_space_rows",
}


def _tasks(node):
    """Every task of a task list, blocks included."""
    for task in node or []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def _module_tasks():
    found = []
    for path in sorted(ROLES.glob("*/tasks/*.yml")):
        for task in _tasks(yaml.safe_load(path.read_text(encoding="utf-8"))):
            for module in ("nuagerie_web_files", *PER_SPACE):
                if module in task:
                    found.append((path.relative_to(ROOT), module, task[module]))
    return found


def test_the_scan_finds_the_set_based_tasks():
    modules = [module for _, module, _ in _module_tasks()]
    assert modules.count("nuagerie_web_files") == 4  # config dirs, timers, pools, nginx map
    assert set(PER_SPACE) <= set(modules)


@pytest.mark.parametrize(("path", "module", "args"), _module_tasks(),
                         ids=lambda value: str(value) if isinstance(value, (str, pathlib.Path)) else "")
def test_whole_farm_files_from_the_catalogue_per_space_actions_from_the_selection(path, module, args):
    spaces = str(args["spaces"])
    if module == "nuagerie_web_files":
        # the whole catalogue, possibly mapped record by record (e.g. each at the release it runs)
        whole = spaces == "{{ nuagerie_spaces }}" or spaces.startswith("{{ nuagerie_spaces | nuagerie_spaces_at_releases(")
        assert whole and "_selected" not in spaces, f"{path}: a whole-farm file rendered from {spaces}"
    else:
        assert PER_SPACE[module] in spaces, f"{path}: {module} acts on {spaces}"


def test_redis_acl_and_postgresql_sizing_use_the_whole_catalogue():
    redis = yaml.safe_load((ROLES / "redis/defaults/main.yml").read_text(encoding="utf-8"))
    assert redis["redis_spaces"] == "{{ nuagerie_spaces | default([]) }}"
    template = (ROLES / "redis/templates/etc/redis/users.acl.j2").read_text(encoding="utf-8")
    assert "_selected" not in template
    postgresql = yaml.safe_load((ROLES / "postgresql/vars/main.yml").read_text(encoding="utf-8"))
    assert postgresql["__postgresql_space_count"].startswith("{{ postgresql_spaces |")
    assert "postgresql_spaces_selected" in postgresql["__postgresql_space_rows"]
    defaults = yaml.safe_load((ROLES / "postgresql/defaults/main.yml").read_text(encoding="utf-8"))
    assert defaults["postgresql_spaces"] == "{{ nuagerie_spaces | default([]) }}"


def test_no_template_renders_from_the_selection():
    offenders = [str(path.relative_to(ROOT)) for path in ROLES.glob("*/templates/**/*.j2")
                 if "_selected" in path.read_text(encoding="utf-8")]
    assert offenders == []
