"""Nuagerie derived names: one slug in, one name per system out.

Pure functions (no I/O, no Ansible state). Every name is *injective* in its system: two
different valid slugs never yield the same name. The argument, written out in
``docs/catalogue.md`` ("Derived names"), is:

* a valid slug matches ``[a-z0-9]+(-[a-z0-9]+)*``: no ``_``, no ``.``, never ``--``;
* the *readable* form of a name is ``<fixed prefix><slug>`` (PostgreSQL: with ``-`` mapped to
  ``_``, a bijection on the slug alphabet because slugs never contain ``_``), so two readable
  names are equal only if the slugs are equal;
* where a system's length limit would be exceeded, the *hashed* form
  ``<prefix><truncated slug><marker><base32 SHA-256 of the full slug>`` is used instead. The
  marker (``--`` or ``__``) can never occur in a readable name, so a readable name never equals a
  hashed one; two hashed names are equal only if truncated SHA-256 digests (>= 50 bits) collide,
  which the catalogue validation additionally rejects (it checks every derived name for
  uniqueness across the whole catalogue before anything is deployed).
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata

from ansible.errors import AnsibleFilterError

#: Longest slug: one DNS label.
SLUG_MAX_LENGTH = 63

#: S3 reserves these bucket-name suffixes; a readable bucket ``nc-<slug>`` must not end with them.
S3_RESERVED_SUFFIXES = ("-s3alias", "-ol-s3")

#: Default parent directory of the per-space directories (``<root>/<slug>/config``).
DEFAULT_SPACES_ROOT = "/srv/nextcloud/spaces"

_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")

# (limit, prefix, separator in the body, marker, hash length) per length-limited system.
# PostgreSQL identifiers: NAMEDATALEN - 1 = 63 bytes, unquoted identifier charset [a-z0-9_].
_PG = (63, "nc_", "_", "__", 13)
# S3 bucket names: 3..63 chars of [a-z0-9-], start and end alphanumeric.
_BUCKET = (63, "nc-", "-", "--", 13)
# MinIO access keys: at least 3 chars; service-account APIs cap them at 20 -> stay within 20.
_ACCESS_KEY = (20, "nc-", "-", "--", 10)
# Syslog: RFC 5424 APP-NAME is at most 48 printable ASCII characters.
_SYSLOG = (48, "nc-", "-", "--", 13)
_SYSLOG_AUDIT = (48, "ncaudit-", "-", "--", 13)
# Unix user names: at most 32 chars (useradd, utmp), [a-z][-a-z0-9]* (Debian's NAME_REGEX).
_UNIX_USER = (32, "nc-", "-", "--", 10)
# Longest slug whose readable name fits, per system (space_names spells the readable forms out:
# tests/unit/test_nuagerie_catalogue.py checks they equal _bounded's for every slug length).
_FITS = {spec: spec[0] - len(spec[1]) for spec in (_PG, _BUCKET, _ACCESS_KEY, _SYSLOG,
                                                    _SYSLOG_AUDIT, _UNIX_USER)}

#: Reserved range of the spaces' Unix UIDs (and GIDs: each user has its own group, same number):
#: [UNIX_UID_MIN, UNIX_UID_MIN + UNIX_UID_COUNT) = 0x40000000..0x6fffffff. Above every range a
#: Debian host allocates (login.defs: up to 60000; systemd's dynamic users 61184..65519) and
#: below 2^31 (signed 32-bit UIDs in old tools) and systemd's "foreign" range; it overlaps only
#: the UID ranges systemd-nspawn gives containers, which frontends do not run.
UNIX_UID_MIN = 0x40000000
UNIX_UID_COUNT = 0x30000000


def slug_problems(slug: object) -> list[tuple[str, str]]:
    """List what is wrong with a slug, each with the fix to apply.

    :param slug: the candidate slug, as read from YAML (any type).
    :returns: a list of ``(problem, fix)`` pairs; empty when the slug is valid.
    """
    if isinstance(slug, bool):
        return [("is a boolean: YAML reads unquoted yes/no/on/off/true/false as booleans",
                 "quote the slug")]
    if not isinstance(slug, str):
        return [(f"must be a string, not {type(slug).__name__}", "quote the slug")]
    if not slug:
        return [("is empty", "set a DNS label such as 'asso-velo'")]
    problems: list[tuple[str, str]] = []
    if len(slug) <= SLUG_MAX_LENGTH and _SLUG_RE.match(slug):
        # Fast path (10,000 slugs per run): only the S3 suffix rule is left to check.
        if slug.endswith(S3_RESERVED_SUFFIXES):
            for suffix in S3_RESERVED_SUFFIXES:
                if slug.endswith(suffix):
                    problems.append((f"ends with '{suffix}', a suffix S3 reserves for bucket "
                                     "names", "choose a slug with another ending"))
        return problems
    suggestion = suggest_slug(slug)
    fix = f"use '{suggestion}'" if suggestion else "choose a slug of [a-z0-9-]"
    if not slug.isascii():
        problems.append(("contains non-ASCII characters (a slug is a plain DNS label; "
                         "IDN/punycode labels are not allowed either)", fix))
    if slug != slug.lower():
        problems.append(("contains uppercase letters", fix))
    if "_" in slug:
        problems.append(("contains '_' (not valid in a host name)", fix))
    if "." in slug:
        problems.append(("contains '.' (a slug is one DNS label)", fix))
    if slug.startswith("-") or slug.endswith("-"):
        problems.append(("starts or ends with '-'", fix))
    if "--" in slug:
        problems.append(("contains '--' (reserved for IDN 'xn--' labels and for hashed names)", fix))
    if len(slug) > SLUG_MAX_LENGTH:
        problems.append((f"is {len(slug)} characters long, over the DNS label limit of "
                         f"{SLUG_MAX_LENGTH}", f"shorten it, e.g. '{suggestion}'"))
    if not problems and not _SLUG_RE.match(slug):
        problems.append(("contains characters outside [a-z0-9-]", fix))
    for suffix in S3_RESERVED_SUFFIXES:
        if slug.endswith(suffix):
            problems.append((f"ends with '{suffix}', a suffix S3 reserves for bucket names",
                             "choose a slug with another ending"))
    return problems


#: Letters that Unicode does not decompose into ASCII, with their usual transliteration.
_TRANSLITERATION = {
    "ß": "ss", "ẞ": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ø": "o", "Ø": "o",
    "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "ł": "l", "Ł": "l", "þ": "th", "Þ": "th", "ı": "i",
    "ħ": "h", "Ħ": "h", "ŧ": "t", "Ŧ": "t", "ŋ": "ng", "Ŋ": "ng", "ſ": "s",
}


def suggest_slug(text: str) -> str:
    """Turn free text into the closest valid slug (for error messages).

    Accented letters lose their accents (``Vélo`` → ``velo``), a few letters are transliterated
    (``ß`` → ``ss``, ``œ`` → ``oe``…), other characters become ``-``. A letter or digit with no
    ASCII form (Greek, Cyrillic, CJK…) is never silently dropped: then there is no suggestion.

    :param text: any string, e.g. an invalid slug or a display name.
    :returns: a valid slug of at most 63 characters (longer text is cut), or ``""`` when no
        suggestion keeps every letter.
    """
    text = text[:4 * SLUG_MAX_LENGTH]  # the suggestion is cut at 63 anyway; bounded work
    if text[:4].lower() == "xn--":  # an IDNA A-label: suggest from the name it encodes
        try:
            text = text.encode("ascii").decode("idna")
        except UnicodeError:
            pass
    pieces = []
    for char in text:
        if char.isascii():
            pieces.append(char)
        elif char in _TRANSLITERATION:
            pieces.append(_TRANSLITERATION[char])
        elif not unicodedata.combining(char):  # accents of decomposed text go with their letter
            ascii_form = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            if not ascii_form and char.isalnum():
                return ""
            pieces.append(ascii_form or "-")
    candidate = re.sub(r"[^a-z0-9]+", "-", "".join(pieces).lower()).strip("-")
    return candidate[:SLUG_MAX_LENGTH].rstrip("-")


def is_valid_slug(slug: object) -> bool:
    """Tell whether ``slug`` is a valid space slug.

    :param slug: the candidate.
    :returns: ``True`` when :func:`slug_problems` finds nothing.
    """
    return isinstance(slug, str) and not slug_problems(slug)


def _require_slug(slug: object) -> str:
    problems = slug_problems(slug)
    if problems:
        detail = "; ".join(f"{problem} ({fix})" for problem, fix in problems)
        raise AnsibleFilterError(f"invalid space slug {slug!r}: {detail}")
    return slug  # type: ignore[return-value]


def _digest(slug: str, length: int) -> str:
    """Lowercase base32 (``[a-z2-7]``) of SHA-256(slug), cut to ``length`` (at most 16) characters.

    Base32 encodes each 5 bytes on their own, so the first 16 characters of the encoded digest
    are those of its first 10 bytes: encoding only those is 2.5 times faster, same result.
    """
    raw = base64.b32encode(hashlib.sha256(slug.encode("ascii")).digest()[:10]).decode("ascii")
    return raw.lower()[:length]


def _bounded(slug: str, spec: tuple[int, str, str, str, int], digest: str = "") -> str:
    """Readable ``prefix + body`` when it fits, else the hashed form (see module docstring).

    :param digest: :func:`_digest` of the slug (16 characters) when the caller has it already.
    """
    limit, prefix, sep, marker, hash_length = spec
    body = slug.replace("-", sep) if sep != "-" else slug
    if len(prefix) + len(body) <= limit:
        return prefix + body
    keep = limit - len(prefix) - len(marker) - hash_length
    return prefix + body[:keep].rstrip(sep) + marker + (digest or _digest(slug, 16))[:hash_length]


def database_name(slug: str) -> str:
    """PostgreSQL database name of a space (also its login role name).

    ``nc_<slug with - as _>``; hashed form ``nc_<start>__<hash>`` beyond 63 bytes.

    :param slug: a valid slug.
    :returns: an unquoted-safe PostgreSQL identifier of at most 63 bytes.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    return _bounded(_require_slug(slug), _PG)


def bucket_name(slug: str) -> str:
    """S3 bucket of a space: ``nc-<slug>``; hashed form ``nc-<start>--<hash>`` beyond 63 chars.

    :param slug: a valid slug.
    :returns: a bucket name of 5..63 chars of ``[a-z0-9-]``, alphanumeric at both ends.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    return _bounded(_require_slug(slug), _BUCKET)


def s3_access_key(slug: str) -> str:
    """MinIO user (access key) of a space: ``nc-<slug>``, hashed beyond 20 chars.

    :param slug: a valid slug.
    :returns: an access key of 4..20 chars of ``[a-z0-9-]``.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    return _bounded(_require_slug(slug), _ACCESS_KEY)


def redis_user(slug: str) -> str:
    """Redis ACL user of a space: ``nc-<slug>`` (Redis user names have no length limit).

    :param slug: a valid slug.
    :returns: a user name without spaces or glob characters.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    return "nc-" + _require_slug(slug)


def redis_prefix(slug: str) -> str:
    """Redis key prefix of a space (``memcache_customprefix``): ``nc:<slug>:``.

    The ACL key pattern is ``~<prefix>*``. The prefixes are *prefix-free*: ``:`` never occurs in a
    slug, so no space's prefix is the beginning of another's, and ``~nc:a:*`` never matches keys
    of space ``a-b`` (this is why ``-`` is not mapped to ``_`` here).

    :param slug: a valid slug.
    :returns: the prefix, free of spaces and glob metacharacters ``* ? [ ] \\``.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    return "nc:" + _require_slug(slug) + ":"


def syslog_tag(slug: str) -> str:
    """Syslog tag (APP-NAME) of a space: ``nc-<slug>``, hashed beyond 48 chars.

    :param slug: a valid slug.
    :returns: the tag.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    return _bounded(_require_slug(slug), _SYSLOG)


def syslog_tag_audit(slug: str) -> str:
    """Syslog tag of a space's audit log: ``ncaudit-<slug>``, hashed beyond 48 chars.

    Disjoint from every :func:`syslog_tag` (those have ``-`` as third character).

    :param slug: a valid slug.
    :returns: the tag.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    return _bounded(_require_slug(slug), _SYSLOG_AUDIT)


def fpm_pool(slug: str) -> str:
    """php-fpm pool name of a space: ``nc-<slug>`` (the socket ``/run/php/nc-<slug>.sock``
    stays far below the 108-byte ``sun_path`` limit).

    :param slug: a valid slug.
    :returns: the pool name.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    return "nc-" + _require_slug(slug)


def unix_user(slug: str) -> str:
    """Unix user (and its own group) of a space on every frontend: ``nc-<slug>``, hashed form
    ``nc-<start>--<hash>`` beyond 32 characters. Its php-fpm pool, occ and background jobs run
    as this user, which owns the space's config, data, tmp and sessions dirs.

    :param slug: a valid slug.
    :returns: a user name of at most 32 chars matching ``[a-z][-a-z0-9]*``.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    return _bounded(_require_slug(slug), _UNIX_USER)


def _unix_uid(slug: str) -> int:
    digest = hashlib.sha256(b"nuagerie-unix-uid:" + slug.encode("ascii")).digest()
    return UNIX_UID_MIN + int.from_bytes(digest[:8], "big") % UNIX_UID_COUNT


def unix_uid(slug: str) -> int:
    """UID (and GID) of a space's Unix user: a function of the slug alone, in the reserved range
    (:data:`UNIX_UID_MIN`, :data:`UNIX_UID_COUNT`), so every frontend, and a rebuilt one, gives
    a space the same number without any allocation state.

    Two slugs may hash to one UID (about 6 % for a farm of 10,000 spaces, birthday bound over
    805 million numbers): the catalogue validation refuses the second space before any change,
    naming both files (``names.unix_uid`` is checked for uniqueness like every derived name).

    :param slug: a valid slug.
    :returns: the UID.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    return _unix_uid(_require_slug(slug))


def config_dir(slug: str, spaces_root: str = DEFAULT_SPACES_ROOT) -> str:
    """Nextcloud config directory of a space: ``<spaces_root>/<slug>/config``.

    :param slug: a valid slug.
    :param spaces_root: absolute parent directory of all spaces.
    :returns: an absolute path.
    :raises AnsibleFilterError: if the slug is invalid or ``spaces_root`` is not absolute.
    """
    if not isinstance(spaces_root, str) or not spaces_root.startswith("/"):
        raise AnsibleFilterError(f"spaces_root must be an absolute path, got {spaces_root!r}")
    return f"{spaces_root.rstrip('/')}/{_require_slug(slug)}/config"


def timer_name(slug: str) -> str:
    """systemd unit stem of a space's background jobs: ``nc-cron@<slug>``.

    An instance of the template ``nc-cron@.timer`` / ``nc-cron@.service``; append ``.timer`` or
    ``.service``. Slug characters are all valid, unescaped, in a unit instance name, and the
    longest name (``nc-cron@`` + 63 + ``.service`` = 79) is far below systemd's 255.

    :param slug: a valid slug.
    :returns: the unit stem.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    return "nc-cron@" + _require_slug(slug)


def office_alias_group(slug: str) -> str:
    """Collabora alias group name of a space: ``nc-<slug>``.

    :param slug: a valid slug.
    :returns: the group name.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    return "nc-" + _require_slug(slug)


def space_domain(slug: str, farm_domain: str) -> str:
    """Primary domain of a space: ``<slug>.<farm_domain>``.

    :param slug: a valid slug.
    :param farm_domain: the farm's domain, e.g. ``nuagerie.example``.
    :returns: the fully qualified domain name, lowercase.
    :raises AnsibleFilterError: if the slug is invalid or the farm domain is empty.
    """
    if not isinstance(farm_domain, str) or not farm_domain.strip("."):
        raise AnsibleFilterError(f"farm domain must be a non-empty string, got {farm_domain!r}")
    return f"{_require_slug(slug)}.{farm_domain.strip('.').lower()}"


#: Record keys of :func:`space_names`, in the order of docs/space-record.md.
NAME_KEYS = ("database", "db_role", "bucket", "s3_access_key", "redis_user", "redis_prefix",
             "syslog_tag", "syslog_tag_audit", "fpm_pool", "config_dir", "timer",
             "office_alias_group", "unix_user", "unix_uid")


def space_names(slug: str, spaces_root: str = DEFAULT_SPACES_ROOT) -> dict[str, str]:
    """Every derived name of a space (the ``names`` map of the space record).

    :param slug: a valid slug.
    :param spaces_root: absolute parent directory of all spaces (for ``config_dir``).
    :returns: a dict with the keys of :data:`NAME_KEYS`.
    :raises AnsibleFilterError: if the slug is invalid.
    """
    _require_slug(slug)
    if not isinstance(spaces_root, str) or not spaces_root.startswith("/"):
        raise AnsibleFilterError(f"spaces_root must be an absolute path, got {spaces_root!r}")
    # Validated once above; the per-system helpers are inlined to keep 10,000 spaces fast: the
    # readable form when it fits (as _bounded would), and a long slug's digest computed once.
    size = len(slug)
    digest = _digest(slug, 16) if size > _FITS[_ACCESS_KEY] else ""
    plain = "nc-" + slug
    database = "nc_" + slug.replace("-", "_") if size <= _FITS[_PG] else \
        _bounded(slug, _PG, digest)
    return {
        "database": database,
        "db_role": database,
        "bucket": plain if size <= _FITS[_BUCKET] else _bounded(slug, _BUCKET, digest),
        "s3_access_key": plain if size <= _FITS[_ACCESS_KEY] else
        _bounded(slug, _ACCESS_KEY, digest),
        "redis_user": plain,
        "redis_prefix": "nc:" + slug + ":",
        "syslog_tag": plain if size <= _FITS[_SYSLOG] else _bounded(slug, _SYSLOG, digest),
        "syslog_tag_audit": "ncaudit-" + slug if size <= _FITS[_SYSLOG_AUDIT] else
        _bounded(slug, _SYSLOG_AUDIT, digest),
        "fpm_pool": plain,
        "config_dir": f"{spaces_root.rstrip('/')}/{slug}/config",
        "timer": "nc-cron@" + slug,
        "office_alias_group": plain,
        "unix_user": plain if size <= _FITS[_UNIX_USER] else _bounded(slug, _UNIX_USER, digest),
        # A string like every name (the record's names are strings); int() where a number is due.
        "unix_uid": str(_unix_uid(slug)),
    }


class FilterModule:
    """Derived-name filters of Nuagerie spaces."""

    def filters(self) -> dict:
        """Map filter names to functions.

        :returns: the filter table.
        """
        return {
            "nuagerie_space_names": space_names,
            "nuagerie_space_domain": space_domain,
            "nuagerie_slug_problems": slug_problems,
            "nuagerie_space_unix_user": unix_user,
            "nuagerie_space_unix_uid": unix_uid,
        }
