"""Render data as a PHP config file (``<?php $CONFIG = [...];``) that Nextcloud loads.

Pure functions (no I/O, no Ansible state). The output round-trips exactly through PHP's parser:

* strings: single-quoted, where only ``\\\\`` and ``\\'`` are escapes, so every backslash and quote
  is escaped (a trailing backslash too) and ``$`` needs nothing. C0 control characters and DEL
  (NUL, newline, CR, tab…) are written as double-quoted ``"\\xNN"`` pieces joined with ``.``, so the
  file holds no raw control character (git line-ending conversion or an editor cannot alter
  values). Other unicode is written as UTF-8 verbatim; strings that are not valid UTF-8 (lone
  surrogates) are refused;
* ``None`` → ``null``, booleans → ``true``/``false``;
* integers within PHP's 64-bit range (``PHP_INT_MIN`` is written ``(-9223372036854775807 - 1)``
  because the literal ``9223372036854775808`` would become a float); larger ones are refused;
* floats: Python's shortest round-trip ``repr``, with ``.0`` kept; NaN and infinities are refused;
* lists and tuples → PHP list arrays, mappings → PHP arrays in the given key order. Keys are
  strings or integers; a string key PHP would turn into an integer (``'7'``) is refused, as are
  two keys PHP would merge.

The output is deterministic: same input, same bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

PHP_INT_MAX = 2**63 - 1
PHP_INT_MIN = -(2**63)

_VARIABLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CONTROL_RE = re.compile(r"([\x00-\x1f\x7f]+)")
# Strings PHP casts to integer array keys: canonical decimal integers in the int64 range.
_INT_KEY_RE = re.compile(r"(?:0|-?[1-9][0-9]*)\Z")
_INDENT = "  "


def php_string(value: str) -> str:
    """Render a string as a PHP expression evaluating to exactly the same bytes.

    :param value: the string.
    :returns: PHP source, e.g. ``'it\\'s'`` or ``'a' . "\\x0a" . 'b'``.
    :raises AnsibleFilterError: if the string is not encodable as UTF-8 (lone surrogates).
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise AnsibleFilterError(f"to_php: string {value!r} is not valid UTF-8 ({exc.reason}); "
                                 "decode it properly before rendering") from exc
    if not _CONTROL_RE.search(value):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    pieces = []
    for index, part in enumerate(_CONTROL_RE.split(value)):
        if not part:
            continue
        if index % 2:  # a run of control characters
            pieces.append('"' + "".join(f"\\x{ord(char):02x}" for char in part) + '"')
        else:
            pieces.append("'" + part.replace("\\", "\\\\").replace("'", "\\'") + "'")
    return " . ".join(pieces)


def _php_int(value: int, path: str) -> str:
    if value == PHP_INT_MIN:
        return "(-9223372036854775807 - 1)"
    if not PHP_INT_MIN <= value <= PHP_INT_MAX:
        raise AnsibleFilterError(f"to_php: {path}: integer {value} is outside PHP's 64-bit range; "
                                 "pass it as a string")
    return str(value)


def _php_float(value: float, path: str) -> str:
    if math.isnan(value) or math.isinf(value):
        raise AnsibleFilterError(f"to_php: {path}: {value!r} has no PHP literal that survives a "
                                 "config file; use null or a finite number")
    text = repr(value)
    if "." not in text and "e" not in text:
        text += ".0"
    # repr gives '1e+16' or '1.5e-07': both are valid PHP float literals.
    return text


def _php_key(key: object, path: str) -> str:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise AnsibleFilterError(f"to_php: {path}: key {key!r} must be a string or an integer, "
                                 f"not {type(key).__name__}")
    if isinstance(key, int):
        return _php_int(key, path)
    if _INT_KEY_RE.match(key) and PHP_INT_MIN <= int(key) <= PHP_INT_MAX:
        raise AnsibleFilterError(f"to_php: {path}: PHP would turn the string key {key!r} into the "
                                 f"integer {key}; use an integer key instead")
    return php_string(key)


def _render(value: object, path: str, depth: int, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(_php_int(value, path))
    elif isinstance(value, float):
        out.append(_php_float(value, path))
    elif isinstance(value, str):
        out.append(php_string(value))
    elif isinstance(value, Mapping):
        if not value:
            out.append("[]")
            return
        inner = _INDENT * (depth + 1)
        out.append("[\n")
        seen: set = set()
        for key, item in value.items():
            key_source = _php_key(key, f"{path}[{key!r}]")
            php_key = int(key) if isinstance(key, int) else key
            if php_key in seen:
                raise AnsibleFilterError(f"to_php: {path}: key {key!r} appears twice for PHP")
            seen.add(php_key)
            out.append(f"{inner}{key_source} => ")
            _render(item, f"{path}[{key!r}]", depth + 1, out)
            out.append(",\n")
        out.append(_INDENT * depth + "]")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = _INDENT * (depth + 1)
        out.append("[\n")
        for index, item in enumerate(value):
            out.append(inner)
            _render(item, f"{path}[{index}]", depth + 1, out)
            out.append(",\n")
        out.append(_INDENT * depth + "]")
    else:
        raise AnsibleFilterError(f"to_php: {path}: cannot render a {type(value).__name__} "
                                 f"({value!r}); use strings, numbers, booleans, null, lists, maps")


def php_value(value: object) -> str:
    """Render any supported value as a PHP expression.

    :param value: None, bool, int, float, str, list/tuple or mapping (nested).
    :returns: PHP source of the value.
    :raises AnsibleFilterError: on unsupported types, NaN/inf, out-of-range ints, bad keys.
    """
    out: list[str] = []
    _render(value, "value", 0, out)
    return "".join(out)


def to_php(data: Mapping, variable: str = "CONFIG", header: str = "") -> str:
    """Render a mapping as a PHP file assigning it to ``$<variable>``.

    Usage: ``{{ config | nuagerie_to_php }}`` or
    ``{{ config | nuagerie_to_php('CONFIG', ansible_managed) }}``.

    :param data: the config mapping.
    :param variable: the PHP variable name, without ``$`` (default ``CONFIG``).
    :param header: optional comment text written as ``//`` lines after ``<?php``.
    :returns: the file content, ending with a newline.
    :raises AnsibleFilterError: if ``data`` is not a mapping, ``variable`` is not a PHP variable
        name, the header would end PHP mode (``?>``), or a value cannot be rendered exactly.
    """
    if not isinstance(data, Mapping):
        raise AnsibleFilterError(f"to_php expects a mapping at the top level, got "
                                 f"{type(data).__name__}")
    if not isinstance(variable, str) or not _VARIABLE_RE.match(variable) or variable == "this":
        raise AnsibleFilterError(f"to_php: {variable!r} is not a usable PHP variable name "
                                 "(letters, digits, '_', not starting with a digit, no '$')")
    if not isinstance(header, str):
        raise AnsibleFilterError(f"to_php: header must be a string, got {type(header).__name__}")
    if "?>" in header:
        raise AnsibleFilterError("to_php: the header contains '?>', which would end PHP mode "
                                 "inside a // comment")
    lines = ["<?php\n"]
    for line in header.splitlines():
        lines.append(f"// {line}".rstrip() + "\n")
    out: list[str] = []
    _render(data, f"${variable}", 0, out)
    lines.append(f"${variable} = {''.join(out)};\n")
    return "".join(lines)


class FilterModule:
    """PHP rendering filters of Nuagerie."""

    def filters(self) -> dict:
        """Map filter names to functions.

        :returns: the filter table.
        """
        return {
            "nuagerie_to_php": to_php,
            "nuagerie_php_value": php_value,
        }
