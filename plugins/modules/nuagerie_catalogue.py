# -*- coding: utf-8 -*-
"""Documentation stub of the ``nuagerie_catalogue`` action plugin (plugins/action/)."""

DOCUMENTATION = r"""
---
module: nuagerie_catalogue
short_description: Load, validate and resolve the Nuagerie space catalogue
description:
  - Reads every C(<slug>.yml) file of a catalogue directory on the controller, validates all of
    them (reporting every error at once, each with file, field and fix) and returns the space
    records described in C(docs/space-record.md).
  - Runs on the controller only and never changes anything; it supports check mode.
  - When more than 100 spaces are selected, a successful result is hidden from the output
    (like C(no_log)) to spare formatting megabytes of records; failures are always shown.
  - The format and the rules are in C(docs/catalogue.md).
options:
  path:
    description: The catalogue directory, usually C({{ inventory_dir }}/spaces).
    type: path
    required: true
  farm:
    description:
      - Farm settings. C(domain) is required; optional C(max_quota_gb), C(max_accounts),
        C(default_quota_gb), C(default_max_accounts), C(offices), C(default_office),
        C(default_release), C(releases), C(reserved), C(spaces_root).
    type: dict
    required: true
  only:
    description:
      - Restrict the returned records to these slugs (comma separated string or list), after
        the whole catalogue validated. An unknown slug is an error. Empty means all.
    type: raw
    default: ""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: controller
author:
  - Nuagerie
"""

EXAMPLES = r"""
- name: Load and validate the space catalogue
  nuagerie_catalogue:
    path: "{{ inventory_dir }}/spaces"
    farm:
      domain: "{{ nuagerie_farm_domain }}"
      default_release: "31.0.9"
    only: "asso-velo,club-echecs"
  run_once: true
  register: __catalogue_loaded
"""

RETURN = r"""
spaces:
  description:
    - Every space record of the catalogue, sorted by slug, whatever O(only) selects.
    - Whole-farm artefacts are rendered from it (issue 11).
  returned: success
  type: list
  elements: dict
selected_spaces:
  description:
    - The records O(only) selects, in catalogue order; the same list as RV(spaces) when
      nothing is selected. Per-space actions use it.
  returned: success
  type: list
  elements: dict
selection:
  description: Whether RV(selected_spaces) is a strict subset of RV(spaces).
  returned: success
  type: bool
total:
  description: Number of spaces in the catalogue.
  returned: success
  type: int
selected:
  description: Number of spaces in RV(selected_spaces).
  returned: success
  type: int
errors:
  description: Every validation error (file, field, problem, fix).
  returned: failure
  type: list
  elements: dict
"""
