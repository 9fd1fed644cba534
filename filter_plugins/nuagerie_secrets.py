"""Nuagerie derived secrets: HMAC-SHA256 of one vaulted master key.

Pure functions (no I/O, no Ansible state). A secret is::

    encode(HMAC-SHA256(key=master_key, msg=label))

where ``label`` is an unambiguous, length-prefixed encoding of its fields::

    label = lp("nuagerie/v1") || lp(scope) || lp(purpose) || lp(slug) || lp(str(rotation))
    lp(x) = 4-byte big-endian length of UTF-8(x) || UTF-8(x)

``scope`` is ``space`` or ``farm`` (farm secrets have an empty slug), so a farm secret never equals
a space secret, and length prefixes make (slug ``a``, purpose ``b-c``) and (slug ``a-b``,
purpose ``c``) different messages. Changing any field (for example one purpose's rotation
counter of one space) changes only that secret.

``encode`` maps the 256-bit MAC to 32 characters: ``[A-Z][a-z][0-9]_`` then 28 characters of
base64url ``[A-Za-z0-9_-]`` (about 180 bits). The secret starts with a letter (never with ``-``,
so no tool reads it as an option) and holds only URL-unreserved characters, so it is safe
unquoted in shell, in SQL string literals, in Redis ``>password`` ACL rules, in URLs and DSNs,
in YAML and PHP single-quoted strings and in ``.pgpass``; it is within MinIO's 8..40 characters
for secret keys and meets a Nextcloud password policy that enforces upper case, lower case,
digits and special characters.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

#: Per-space secret purposes, in record order. Each has its own rotation counter.
SPACE_PURPOSES = ("db_password", "s3_secret_key", "redis_password", "admin_password")

#: Shortest accepted master key (characters of the vaulted string).
MASTER_KEY_MIN_LENGTH = 32

#: Length of every derived secret.
SECRET_LENGTH = 32

_VERSION = "nuagerie/v1"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"


def _lp(text: str) -> bytes:
    raw = text.encode("utf-8")
    return len(raw).to_bytes(4, "big") + raw


def secret_label(scope: str, purpose: str, slug: str, rotation: int) -> bytes:
    """Build the HMAC message of one secret (domain-separated, length-prefixed).

    :param scope: ``space`` or ``farm``.
    :param purpose: what the secret is for, e.g. ``db_password``.
    :param slug: the space slug (``""`` for farm secrets).
    :param rotation: rotation counter, >= 0.
    :returns: the message bytes.
    """
    return _lp(_VERSION) + _lp(scope) + _lp(purpose) + _lp(slug) + _lp(str(rotation))


def encode_secret(mac: bytes) -> str:
    """Encode a MAC into the consumer-safe secret alphabet (see module docstring).

    Bytes 0..20 (168 bits) become 28 characters of base64url (``[A-Za-z0-9_-]``, 6 bits each,
    no bias); bytes 21..31 (88 bits) pick one upper case letter, one lower case letter and one
    digit (modulo bias below 2**-75). The secret is those three, ``_``, then the 28 characters.

    :param mac: 32 bytes of HMAC-SHA256 output.
    :returns: a 32-character secret.
    """
    number = int.from_bytes(mac[21:32], "big")
    number, upper = divmod(number, 26)
    number, lower = divmod(number, 26)
    digit = number % 10
    tail = base64.urlsafe_b64encode(mac[:21]).decode("ascii")
    return _UPPER[upper] + _LOWER[lower] + _DIGITS[digit] + "_" + tail


def _master_key_bytes(master_key: object) -> bytes:
    if master_key is None or (isinstance(master_key, str) and not master_key.strip()):
        raise AnsibleFilterError(
            "the farm master key is empty: set vault_nuagerie_master_key in "
            "inventories/<env>/group_vars/all/vault.yml (e.g. `openssl rand -hex 32`)")
    if not isinstance(master_key, str):
        raise AnsibleFilterError(
            f"the farm master key must be a string, not {type(master_key).__name__}")
    if "{{" in master_key:
        raise AnsibleFilterError("the farm master key is an unrendered template; is the vault "
                                 "password missing (--vault-id)?")
    if len(master_key) < MASTER_KEY_MIN_LENGTH:
        raise AnsibleFilterError(
            f"the farm master key has {len(master_key)} characters, fewer than "
            f"{MASTER_KEY_MIN_LENGTH}: generate one with `openssl rand -hex 32`")
    return master_key.encode("utf-8")


def _check_rotation(rotation: object, where: str) -> int:
    if isinstance(rotation, bool) or not isinstance(rotation, int) or rotation < 0:
        raise AnsibleFilterError(f"{where}: rotation must be an integer >= 0, got {rotation!r}")
    return rotation


def _derive(key: bytes, scope: str, purpose: str, slug: str, rotation: int) -> str:
    """Derive one secret from checked inputs (the hot path of :func:`space_secrets`)."""
    return encode_secret(hmac.digest(key, secret_label(scope, purpose, slug, rotation), "sha256"))


def derive_secret(master_key: str, scope: str, purpose: str, slug: str, rotation: int) -> str:
    """Derive one secret.

    :param master_key: the vaulted farm master key (>= 32 characters).
    :param scope: ``space`` or ``farm``.
    :param purpose: the secret's purpose label (non-empty).
    :param slug: the space slug, ``""`` for a farm secret.
    :param rotation: rotation counter, >= 0.
    :returns: the 32-character secret.
    :raises AnsibleFilterError: on a missing or short key, empty purpose or bad rotation.
    """
    key = _master_key_bytes(master_key)
    if not isinstance(purpose, str) or not purpose:
        raise AnsibleFilterError(f"secret purpose must be a non-empty string, got {purpose!r}")
    _check_rotation(rotation, f"secret {purpose!r}")
    return _derive(key, scope, purpose, slug, rotation)


def farm_secret(master_key: str, purpose: str, rotation: int = 0) -> str:
    """Derive a farm-level secret (service root passwords, replication passwords…).

    Usage: ``nuagerie_master_key | nuagerie_farm_secret('minio-root-password')``.

    :param master_key: the vaulted farm master key.
    :param purpose: a stable label, e.g. ``minio-root-password``.
    :param rotation: bump to rotate this secret only.
    :returns: the 32-character secret.
    :raises AnsibleFilterError: on a missing or short key, empty purpose or bad rotation.
    """
    return derive_secret(master_key, "farm", purpose, "", rotation)


_SPACE_PREFIX = _lp(_VERSION) + _lp("space")
_PURPOSE_PARTS = {purpose: _lp(purpose) for purpose in SPACE_PURPOSES}


def _one_space(space: Mapping, key: bytes) -> dict:
    if not isinstance(space, Mapping) or not isinstance(space.get("slug"), str):
        raise AnsibleFilterError("nuagerie_space_secrets expects space records (with a 'slug'), "
                                 f"got {type(space).__name__}")
    slug = space["slug"]
    rotation = space.get("rotation") or {}
    if not isinstance(rotation, Mapping):
        raise AnsibleFilterError(f"space {slug}: rotation must be a mapping, got {rotation!r}")
    unknown = sorted(set(rotation) - set(SPACE_PURPOSES))
    if unknown:
        raise AnsibleFilterError(f"space {slug}: unknown rotation purpose(s) {unknown}; "
                                 f"known: {list(SPACE_PURPOSES)}")
    secrets = {}
    slug_part = _lp(slug)
    for purpose in SPACE_PURPOSES:
        counter = _check_rotation(rotation.get(purpose, 0), f"space {slug} {purpose}")
        # == secret_label("space", purpose, slug, counter), with the constant parts precomputed
        label = _SPACE_PREFIX + _PURPOSE_PARTS[purpose] + slug_part + _lp(str(counter))
        secrets[purpose] = encode_secret(hmac.digest(key, label, "sha256"))
    record = dict(space)
    record["secrets"] = secrets
    return record


def space_secrets(spaces: object, master_key: str) -> object:
    """Add a ``secrets`` map to space records.

    Usage: ``nuagerie_spaces | nuagerie_space_secrets(nuagerie_master_key)``. The input is not
    modified; each returned record is a shallow copy with ``secrets`` holding one value per
    :data:`SPACE_PURPOSES` entry.

    :param spaces: one space record (mapping) or a list of them.
    :param master_key: the vaulted farm master key.
    :returns: a record or a list of records, matching the input.
    :raises AnsibleFilterError: on a bad key, a record without slug, or a bad rotation map.
    """
    key = _master_key_bytes(master_key)
    if isinstance(spaces, Mapping):
        return _one_space(spaces, key)
    if isinstance(spaces, (list, tuple)):
        return [_one_space(space, key) for space in spaces]
    raise AnsibleFilterError("nuagerie_space_secrets expects a space record or a list of them, "
                             f"got {type(spaces).__name__}")


#: Nextcloud's own per-instance values (``config.php`` keys), derived so every web host renders
#: the same ones. Never rotated: a new ``secret`` makes encrypted data unreadable and a new
#: ``passwordsalt`` invalidates legacy password hashes; a new ``instanceid`` orphans caches.
NEXTCLOUD_IDENTITY_PURPOSES = ("nextcloud-instanceid", "nextcloud-passwordsalt", "nextcloud-secret")

_ALNUM = _DIGITS + _UPPER + _LOWER
_BASE36 = _DIGITS + _LOWER


def _encode_base(number: int, alphabet: str, length: int) -> str:
    chars = []
    base = len(alphabet)
    for _ in range(length):
        number, index = divmod(number, base)
        chars.append(alphabet[index])
    return "".join(chars)


def _identity(key: bytes, slug: str) -> dict:
    def mac(purpose: str, block: int) -> int:
        label = secret_label("space", purpose, slug, block)
        return int.from_bytes(hmac.digest(key, label, "sha256"), "big")

    # instanceid: Nextcloud's own shape, 'oc' + 10 of [a-z0-9] (52 bits). No '_' (richdocuments
    # parses WOPI file ids on '_', richdocuments#5783) and never derived readably from the slug.
    instanceid = "oc" + _encode_base(mac(NEXTCLOUD_IDENTITY_PURPOSES[0], 0), _BASE36, 10)
    # passwordsalt: 30 alphanumerics (~178 bits of one MAC), as long as Nextcloud's own.
    salt = _encode_base(mac(NEXTCLOUD_IDENTITY_PURPOSES[1], 0), _ALNUM, 30)
    # secret: 48 alphanumerics (~286 bits) need two MAC blocks (512 bits).
    secret_number = (mac(NEXTCLOUD_IDENTITY_PURPOSES[2], 0) << 256) | mac(NEXTCLOUD_IDENTITY_PURPOSES[2], 1)
    secret = _encode_base(secret_number, _ALNUM, 48)
    return {"instanceid": instanceid, "passwordsalt": salt, "secret": secret}


def space_nextcloud_identity(space: object, master_key: str) -> dict:
    """Derive a space's Nextcloud ``instanceid``, ``passwordsalt`` and ``secret``.

    Usage: ``space | nuagerie_space_nextcloud_identity(nuagerie_master_key)``. Each value is an
    HMAC of the master key with its own purpose label (scope ``space``, counter = block number),
    so it never equals a :func:`space_secrets` value, and every web host computes the same.

    :param space: a space record (with ``slug``) or a slug.
    :param master_key: the vaulted farm master key.
    :returns: ``{"instanceid": "oc…" (12), "passwordsalt": (30), "secret": (48)}``.
    :raises AnsibleFilterError: on a bad key or a value without slug.
    """
    key = _master_key_bytes(master_key)
    slug = space.get("slug") if isinstance(space, Mapping) else space
    if not isinstance(slug, str) or not slug:
        raise AnsibleFilterError("nuagerie_space_nextcloud_identity expects a space record or a "
                                 f"slug, got {type(space).__name__}")
    return _identity(key, slug)


class FilterModule:
    """Secret-derivation filters of Nuagerie."""

    def filters(self) -> dict:
        """Map filter names to functions.

        :returns: the filter table.
        """
        return {
            "nuagerie_space_secrets": space_secrets,
            "nuagerie_farm_secret": farm_secret,
            "nuagerie_space_nextcloud_identity": space_nextcloud_identity,
        }
