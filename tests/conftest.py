"""Shared pytest setup: make the repository's plugins importable as plain modules.

``filter_plugins/`` goes on ``sys.path`` (``import nuagerie_names``) and so does ``plugins/``
(``from action import nuagerie_catalogue``): no PYTHONPATH needed in CI or locally.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _path in (os.path.join(ROOT, "plugins"), os.path.join(ROOT, "filter_plugins")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# The operator CLI's package (nuagerie_cli/, also installed editable by scripts/bootstrap); last,
# so that no top-level directory of the repository shadows an installed package.
if ROOT not in sys.path:
    sys.path.append(ROOT)

try:
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # hypothesis is in requirements/dev.txt; only the property tests need it
    _hypothesis_settings = None

if _hypothesis_settings is not None:
    # No example database in the work tree (.hypothesis/); on CI the examples are derandomized
    # so a red run reproduces exactly, and a failure prints the blob to replay it.
    _hypothesis_settings.register_profile(
        "nuagerie", database=None, print_blob=True,
        derandomize=os.environ.get("CI") == "true")
    _hypothesis_settings.load_profile("nuagerie")
