"""Unit tests of filter_plugins/nuagerie_php.py, including round trips through the real PHP CLI.

The PHP tests need Debian's php-cli. Without it they are skipped locally but FAIL when the
environment says CI=true (the CI host bootstrap installs php-cli, so a missing binary is a bug).
Each test batches many configs into one `php` process to keep the unit tier fast.
"""

import json
import math
import os
import re
import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nuagerie_php as php

DRIVER = r"""<?php
set_error_handler(function ($no, $str, $file, $line) {
    throw new ErrorException("$str ($file:$line)", 0, $no);
});
// Tag arrays as ordered [key, value] pairs so keys, order and list/map shape are all compared.
function t($v) {
    if (is_array($v)) {
        $o = [];
        foreach ($v as $k => $x) { $o[] = [$k, t($x)]; }
        return ['a' => $o];
    }
    return $v;
}
$out = [];
for ($i = 1; $i < $argc; $i += 2) {
    $__var = $argv[$i + 1];
    unset($$__var);
    include $argv[$i];
    $out[] = t($$__var);
}
echo json_encode($out, JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE);
"""


@pytest.fixture(scope="module")
def php_binary():
    path = shutil.which("php")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the php CLI is missing on CI: the host bootstrap must install php-cli")
        pytest.skip("php CLI not installed (apt-get install php-cli); the round trips need it")
    return path


@pytest.fixture(scope="module")
def php_eval(php_binary, tmp_path_factory):
    """Return a function: list of (php source, variable) -> the values PHP loaded, tagged."""
    directory = tmp_path_factory.mktemp("php")
    driver = directory / "driver.php"
    driver.write_text(DRIVER, encoding="utf-8")
    counter = [0]

    def run(sources):
        argv = []
        for source, variable in sources:
            counter[0] += 1
            path = directory / f"c{counter[0]}.php"
            path.write_bytes(source.encode("utf-8"))
            argv += [str(path), variable]
        done = subprocess.run(
            [php_binary, "-n", "-d", "serialize_precision=-1", "-d", "display_errors=stderr",
             "-d", "error_reporting=-1", str(driver), *argv],
            capture_output=True, check=False)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        assert done.stderr == b""
        return json.loads(done.stdout.decode("utf-8"))

    return run


def tag(value):
    """Python twin of the PHP t(): arrays as [key, value] pairs, scalars typed strictly."""
    if isinstance(value, dict):
        return {"a": [[key, tag(item)] for key, item in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"a": [[index, tag(item)] for index, item in enumerate(value)]}
    return value


def strict(value):
    """Make 1 != 1.0 != True and -0.0 != 0.0 for comparisons."""
    if isinstance(value, dict):
        return {key: strict(item) for key, item in value.items()}
    if isinstance(value, list):
        return [strict(item) for item in value]
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def assert_round_trip(php_eval, configs, variable="CONFIG"):
    rendered = [(php.to_php(config, variable), variable) for config in configs]
    loaded = php_eval(rendered)
    assert strict(loaded) == strict([tag(config) for config in configs])


# ------------------------------------------------------------------------------------------
# Rendering, without PHP

def test_simple_rendering_is_exact():
    assert php.to_php({"dbname": "nc_asso", "port": 5432, "ssl": True, "x": None,
                       "ratio": 0.5, "list": ["a", 1], "empty": [], "map": {}}) == (
        "<?php\n"
        "$CONFIG = [\n"
        "  'dbname' => 'nc_asso',\n"
        "  'port' => 5432,\n"
        "  'ssl' => true,\n"
        "  'x' => null,\n"
        "  'ratio' => 0.5,\n"
        "  'list' => [\n"
        "    'a',\n"
        "    1,\n"
        "  ],\n"
        "  'empty' => [],\n"
        "  'map' => [],\n"
        "];\n")


@pytest.mark.parametrize(("value", "expected"), [
    ("plain", "'plain'"),
    ("it's", r"'it\'s'"),
    ("back\\slash", r"'back\\slash'"),
    ("trailing\\", r"'trailing\\'"),
    ("\\'", r"'\\\''"),
    ("$HOME {$x}", "'$HOME {$x}'"),
    ("a\nb", "'a' . \"\\x0a\" . 'b'"),
    ("\x00", '"\\x00"'),
    ("\r\n\t", '"\\x0d\\x0a\\x09"'),
    ("é😀", "'é😀'"),
    ("", "''"),
])
def test_php_string(value, expected):
    assert php.php_string(value) == expected


def test_no_raw_control_characters_in_output():
    text = php.to_php({"k\x01": "a\x00b\nc\x7f", "n": ["\r"]})
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", text)


@pytest.mark.parametrize(("value", "expected"), [
    (2**63 - 1, "9223372036854775807"),
    (-(2**63), "(-9223372036854775807 - 1)"),
    (1.0, "1.0"), (-0.0, "-0.0"), (1e16, "1e+16"), (5e-324, "5e-324"), (0.1, "0.1"),
    (False, "false"), (None, "null"),
])
def test_php_value_scalars(value, expected):
    assert php.php_value(value) == expected


def test_header_and_variable():
    text = php.to_php({"a": 1}, "CONFIG_OVERRIDE", "Ansible managed\nline two ")
    assert text.startswith("<?php\n// Ansible managed\n// line two\n$CONFIG_OVERRIDE = [\n")


def test_deterministic_and_order_preserving():
    data = {"z": 1, "a": {"y": [3, 2], "b": None}, 5: "five"}
    assert php.to_php(data) == php.to_php(dict(data))
    assert php.to_php(data).index("'z'") < php.to_php(data).index("'a'")


@pytest.mark.parametrize(("data", "args", "message"), [
    ([1], (), "mapping at the top level"),
    ({"a": float("nan")}, (), "no PHP literal"),
    ({"a": float("inf")}, (), "no PHP literal"),
    ({"a": [float("-inf")]}, (), "no PHP literal"),
    ({"a": 2**63}, (), "64-bit range"),
    ({"a": -(2**63) - 1}, (), "64-bit range"),
    ({"a": {1.5: "x"}}, (), "string or an integer"),
    ({"a": {True: "x"}}, (), "string or an integer"),
    ({"a": {None: "x"}}, (), "string or an integer"),
    ({"7": "x"}, (), "into the integer 7"),
    ({"-3": "x"}, (), "into the integer"),
    ({"a": b"bytes"}, (), "cannot render a bytes"),
    ({"a": {1, 2}}, (), "cannot render a set"),
    ({"a": "\ud800"}, (), "not valid UTF-8"),
    ({"a": 1}, ("$CONFIG",), "variable name"),
    ({"a": 1}, ("1x",), "variable name"),
    ({"a": 1}, ("this",), "variable name"),
    ({"a": 1}, (3,), "variable name"),
    ({"a": 1}, ("CONFIG", "bad ?> header"), "end PHP mode"),
    ({"a": 1}, ("CONFIG", ["x"]), "header must be a string"),
])
def test_errors(data, args, message):
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        php.to_php(data, *args)


@pytest.mark.parametrize("key", ["01", "+1", "1.0", " 1", "-0", "9223372036854775808", "0x1"])
def test_string_keys_php_keeps_as_strings_are_accepted(key):
    assert php.to_php({key: 1})


def test_filters_registration():
    filters = php.FilterModule().filters()
    assert filters == {"nuagerie_to_php": php.to_php, "nuagerie_php_value": php.php_value}


# ------------------------------------------------------------------------------------------
# Round trips through the real PHP CLI

EDGE_CONFIGS = [
    {"dbname": "nc_asso_velo", "trusted_domains": ["asso-velo.lab.nuagerie.test", "cloud.asso.org"],
     "memcache.local": "\\OC\\Memcache\\APCu", "redis": {"host": "redis1", "port": 6379,
                                                          "timeout": 0.0, "dbindex": 0},
     "objectstore": {"class": "\\OC\\Files\\ObjectStore\\S3",
                     "arguments": {"bucket": "nc-asso-velo", "use_ssl": True, "port": 9000}},
     "maintenance_window_start": 1, "loglevel": 2, "installed": False, "mail_smtpname": None},
    {"quote": "it's", "backslash": "C:\\path\\", "both": "\\'", "dollar": "$CONFIG ${x} {$y}",
     "newline": "a\nb\r\nc", "nul": "a\x00b", "tab": "\t", "del": "\x7f", "unicode": "Asso Vélo ✓ 😀",
     "bom": "\ufeffx", "ls": "\u2028", "php_close": "?> <?php echo 1; ?>", "comment": "// # /*",
     "empty": "", "spaces": "  "},
    {"ints": [0, 1, -1, 2**31, 2**63 - 1, -(2**63)],
     "floats": [0.0, -0.0, 1.0, 0.1, 1e16, 1.5e-7, 5e-324, 1.7976931348623157e308, -2.5],
     "bools": [True, False], "null": None},
    {0: "zero", 1: "one", 5: "five", -3: "minus", "01": "string key", "": "empty key",
     "nested": [[[]], {}, [{}], {"a": {"b": {"c": ["deep"]}}}], "list": [None, [1, [2, [3]]]]},
]


def test_edge_cases_round_trip(php_eval):
    assert_round_trip(php_eval, EDGE_CONFIGS)


def test_other_variable_name_round_trip(php_eval):
    assert_round_trip(php_eval, EDGE_CONFIGS[:2], variable="CONFIG_OVERRIDE")


def test_header_round_trip(php_eval):
    source = php.to_php({"a": 1}, "CONFIG", "Ansible managed: do not edit\n# and // and /*")
    assert php_eval([(source, "CONFIG")]) == [{"a": [["a", 1]]}]


PHP_INT = st.integers(min_value=php.PHP_INT_MIN, max_value=php.PHP_INT_MAX)
SCALARS = (st.none() | st.booleans() | PHP_INT
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())
KEYS = PHP_INT | st.text().filter(lambda key: not (
    re.fullmatch(r"0|-?[1-9][0-9]*", key) and php.PHP_INT_MIN <= int(key) <= php.PHP_INT_MAX))
VALUES = st.recursive(SCALARS, lambda children: st.lists(children, max_size=5)
                      | st.dictionaries(KEYS, children, max_size=5), max_leaves=25)
CONFIGS = st.dictionaries(KEYS, VALUES, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(configs=st.lists(CONFIGS, min_size=1, max_size=20))
def test_property_round_trip(php_eval, configs):
    """Any renderable data survives render -> PHP include -> json_encode -> compare."""
    assert_round_trip(php_eval, configs)


@settings(max_examples=200, deadline=None)
@given(value=VALUES)
def test_property_rendering_is_deterministic_and_clean(value):
    first = php.to_php({"v": value})
    assert first == php.to_php({"v": value})
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", first)


def test_floats_use_shortest_repr():
    for value in (0.1, 1 / 3, 2.0**-1074, 123456789.123456789):
        text = php.php_value(value)
        assert float(text) == value and not math.isnan(float(text))
