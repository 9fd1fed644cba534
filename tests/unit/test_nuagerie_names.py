"""Unit tests of filter_plugins/nuagerie_names.py: slug rules and derived names."""

import hashlib
import itertools
import random
import re
import string

import pytest
from ansible.errors import AnsibleFilterError

import nuagerie_names as names

VALID = ["a", "ab", "asso-velo", "club-echecs-lyon", "x1", "123", "a-b-c", "a" * 63,
         "a" * 62 + "b", "-".join(["ab"] * 21)]
INVALID = {
    "": "empty",
    "Asso": "uppercase",
    "asso_velo": "'_'",
    "asso.velo": "'.'",
    "-asso": "starts or ends",
    "asso-": "starts or ends",
    "asso--velo": "'--'",
    "xn--vlo-9ma": "'--'",
    "a" * 64: "64 characters",
    "vélo": "non-ASCII",
    "asso velo": "outside [a-z0-9-]",
    "asso-s3alias": "-s3alias",
    "asso-ol-s3": "-ol-s3",
}

# System rules, from the upstream documentation of each system.
PG_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")           # unquoted, <= 63 bytes
BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\Z")         # S3: 3..63
ACCESS_KEY = re.compile(r"[a-z0-9-]{3,20}\Z")                      # MinIO: 3..20
NO_GLOB_NO_SPACE = re.compile(r"[^\s*?\[\]\\]+\Z")                 # Redis ACL user / pattern
UNIT_INSTANCE = re.compile(r"[a-zA-Z0-9:_.\\-]+@[a-zA-Z0-9:_.\\-]+\Z")  # systemd unit stem
SYSLOG_TAG = re.compile(r"[!-~]{1,48}\Z")                          # RFC 5424 APP-NAME


def random_slugs(count, seed=3):
    """Deterministic pseudo-random valid slugs of every length, many sharing long prefixes."""
    rng = random.Random(seed)
    alphabet = string.ascii_lowercase + string.digits
    slugs = set()
    while len(slugs) < count:
        length = rng.choice([1, 2, 5, 17, 18, 20, 45, 46, 59, 60, 61, 62, 63, rng.randint(1, 63)])
        if rng.random() < 0.5:  # long common prefix: stresses truncation + hash
            base = "association-sportive-de-la-commune-de-"[:max(length - 3, 0)]
            chars = list(base) + [rng.choice(alphabet) for _ in range(length - len(base))]
        else:
            chars = [rng.choice(alphabet) for _ in range(length)]
        for index in range(1, length - 1):
            if rng.random() < 0.15 and chars[index - 1] != "-":
                chars[index] = "-"
        slug = "".join(chars).strip("-")
        if slug and names.is_valid_slug(slug):
            slugs.add(slug)
    return sorted(slugs)


@pytest.mark.parametrize("slug", VALID)
def test_valid_slugs(slug):
    assert names.slug_problems(slug) == []
    assert names.is_valid_slug(slug)


@pytest.mark.parametrize(("slug", "expected"), sorted(INVALID.items()))
def test_invalid_slugs_name_the_problem_and_a_fix(slug, expected):
    problems = names.slug_problems(slug)
    assert problems, slug
    assert any(expected in problem for problem, _ in problems), problems
    assert all(fix for _, fix in problems)
    assert not names.is_valid_slug(slug)


@pytest.mark.parametrize("value", [None, True, False, 12, 1.5, ["a"]])
def test_non_string_slugs(value):
    problems = names.slug_problems(value)
    assert problems and "quote" in problems[0][1]
    assert not names.is_valid_slug(value)


def test_boolean_slug_explains_yaml():
    assert "boolean" in names.slug_problems(False)[0][0]


@pytest.mark.parametrize(("text", "expected"), [
    ("Asso Vélo", "asso-velo"), ("asso_velo", "asso-velo"), ("--a--b--", "a-b"),
    ("Ωμέγα", ""), ("a" * 70, "a" * 63), ("a" * 62 + "-b", "a" * 62),
])
def test_suggest_slug(text, expected):
    assert names.suggest_slug(text) == expected
    if expected:
        assert names.is_valid_slug(expected)


def test_readable_names():
    assert names.space_names("asso-velo") == {
        "database": "nc_asso_velo",
        "db_role": "nc_asso_velo",
        "bucket": "nc-asso-velo",
        "s3_access_key": "nc-asso-velo",
        "redis_user": "nc-asso-velo",
        "redis_prefix": "nc:asso-velo:",
        "syslog_tag": "nc-asso-velo",
        "syslog_tag_audit": "ncaudit-asso-velo",
        "fpm_pool": "nc-asso-velo",
        "config_dir": "/srv/nextcloud/spaces/asso-velo/config",
        "timer": "nc-cron@asso-velo",
        "office_alias_group": "nc-asso-velo",
        "unix_user": "nc-asso-velo",
        "unix_uid": str(names.unix_uid("asso-velo")),
    }
    assert tuple(names.space_names("a")) == names.NAME_KEYS


def test_single_functions_match_space_names():
    for slug in ["a", "asso-velo", "a" * 63, "b" * 18]:
        record = names.space_names(slug, "/data")
        assert record["database"] == names.database_name(slug)
        assert record["bucket"] == names.bucket_name(slug)
        assert record["s3_access_key"] == names.s3_access_key(slug)
        assert record["redis_user"] == names.redis_user(slug)
        assert record["redis_prefix"] == names.redis_prefix(slug)
        assert record["syslog_tag"] == names.syslog_tag(slug)
        assert record["syslog_tag_audit"] == names.syslog_tag_audit(slug)
        assert record["fpm_pool"] == names.fpm_pool(slug)
        assert record["config_dir"] == names.config_dir(slug, "/data") == f"/data/{slug}/config"
        assert record["timer"] == names.timer_name(slug)
        assert record["office_alias_group"] == names.office_alias_group(slug)
        assert record["unix_user"] == names.unix_user(slug)
        assert record["unix_uid"] == str(names.unix_uid(slug))


def test_hashed_form_beyond_limits():
    slug = "a" * 63
    record = names.space_names(slug)
    assert len(record["database"]) == 63 and "__" in record["database"]
    assert len(record["bucket"]) == 63 and "--" in record["bucket"]
    assert len(record["s3_access_key"]) == 20 and "--" in record["s3_access_key"]
    assert record["s3_access_key"].startswith("nc-aaaaa--")
    # the cut never leaves a separator before the marker
    slug = "abcd-" + "e" * 40
    assert "---" not in names.s3_access_key(slug)
    assert names.s3_access_key(slug).startswith("nc-abcd--")


def test_longest_readable_forms():
    assert names.database_name("a" * 60) == "nc_" + "a" * 60
    assert "__" in names.database_name("a" * 61)
    assert names.s3_access_key("a" * 17) == "nc-" + "a" * 17
    assert "--" in names.s3_access_key("a" * 18)
    assert names.syslog_tag("a" * 45) == "nc-" + "a" * 45
    assert "--" in names.syslog_tag("a" * 46)


SLUGS = random_slugs(3000)


def test_every_name_respects_its_system_rules():
    for slug in SLUGS:
        record = names.space_names(slug)
        assert PG_IDENTIFIER.match(record["database"]), record["database"]
        assert len(record["database"].encode()) <= 63
        assert BUCKET.match(record["bucket"]), record["bucket"]
        assert not record["bucket"].startswith(("xn--", "sthree-"))
        assert not record["bucket"].endswith(("-s3alias", "--ol-s3", "--x-s3"))
        assert not re.fullmatch(r"\d+(\.\d+){3}", record["bucket"])
        assert ACCESS_KEY.match(record["s3_access_key"]), record["s3_access_key"]
        assert NO_GLOB_NO_SPACE.match(record["redis_user"])
        assert NO_GLOB_NO_SPACE.match(record["redis_prefix"])
        assert UNIT_INSTANCE.match(record["timer"]) and len(record["timer"] + ".service") <= 255
        assert SYSLOG_TAG.match(record["syslog_tag"]) and SYSLOG_TAG.match(record["syslog_tag_audit"])
        assert len(f"/run/php/{record['fpm_pool']}.sock") < 108


def test_names_are_injective_over_many_slugs():
    """No two of 3,000 slugs (many sharing 40-character prefixes) share a name in any system."""
    for key in names.NAME_KEYS:
        values = [names.space_names(slug)[key] for slug in SLUGS]
        assert len(set(values)) == len(SLUGS), key


def test_exhaustive_short_slugs_are_injective():
    alphabet = "ab-"
    slugs = [s for n in range(1, 7) for s in map("".join, itertools.product(alphabet, repeat=n))
             if names.is_valid_slug(s)]
    for key in names.NAME_KEYS:
        assert len({names.space_names(s)[key] for s in slugs}) == len(slugs), key


def test_syslog_tags_and_audit_tags_are_disjoint():
    tags = {names.syslog_tag(slug) for slug in SLUGS}
    audit = {names.syslog_tag_audit(slug) for slug in SLUGS}
    assert not tags & audit
    assert names.syslog_tag("audit-x") != names.syslog_tag_audit("x")


def test_redis_prefixes_are_prefix_free():
    """~<prefix>* of one space must never match another space's keys."""
    prefixes = sorted({names.redis_prefix(slug) for slug in SLUGS + ["a", "a-b", "ab"]})
    for first, second in zip(prefixes, prefixes[1:]):
        assert not second.startswith(first), (first, second)


def test_readable_and_hashed_forms_never_meet():
    readable = [s for s in SLUGS if len(s) <= 17]
    hashed = [s for s in SLUGS if len(s) > 17]
    assert readable and hashed
    assert all("--" not in names.s3_access_key(s) for s in readable)
    assert all(names.s3_access_key(s).count("--") == 1 for s in hashed)


def test_names_are_deterministic():
    assert names.space_names("asso-velo") == names.space_names("asso-velo")
    assert names.bucket_name("a" * 63) == "nc-" + "a" * 45 + "--" + names._digest("a" * 63, 13)


@pytest.mark.parametrize("function", [
    names.database_name, names.bucket_name, names.s3_access_key, names.redis_user,
    names.redis_prefix, names.syslog_tag, names.syslog_tag_audit, names.fpm_pool,
    names.timer_name, names.office_alias_group, names.space_names, names.config_dir,
])
@pytest.mark.parametrize("slug", ["Bad", "", None, "a--b"])
def test_invalid_slug_raises(function, slug):
    with pytest.raises(AnsibleFilterError, match="invalid space slug"):
        function(slug)


def test_config_dir_needs_absolute_root():
    with pytest.raises(AnsibleFilterError, match="absolute"):
        names.config_dir("asso", "srv/spaces")
    assert names.config_dir("asso", "/srv/spaces/") == "/srv/spaces/asso/config"


def test_space_domain():
    assert names.space_domain("asso", "Farm.Example.") == "asso.farm.example"
    with pytest.raises(AnsibleFilterError):
        names.space_domain("asso", "")
    with pytest.raises(AnsibleFilterError):
        names.space_domain("Asso", "farm.example")


def test_filters_registration():
    filters = names.FilterModule().filters()
    assert filters["nuagerie_space_names"] is names.space_names
    assert filters["nuagerie_space_domain"] is names.space_domain
    assert filters["nuagerie_slug_problems"] is names.slug_problems


# ------------------------------------------------------------------ Unix users (issue 18)

def test_unix_user_readable_up_to_32_chars_then_hashed():
    assert names.unix_user("asso-velo") == "nc-asso-velo"
    assert names.unix_user("a" * 29) == "nc-" + "a" * 29            # 32 chars: still readable
    hashed = names.unix_user("a" * 30)
    assert len(hashed) == 32 and hashed.startswith("nc-" + "a" * 17 + "--")
    for slug in ["a", "a" * 29, "a" * 30, "a" * 63, "0club", "x-" * 20 + "y"]:
        user = names.unix_user(slug)
        assert len(user) <= 32 and re.fullmatch(r"[a-z][-a-z0-9]*", user), user


def test_unix_user_injective_across_readable_and_hashed_forms():
    # A 29-char slug that looks like a hashed name cannot exist (slugs never contain "--").
    slugs = ["a" * n for n in range(1, 64)] + [f"{'b' * 25}-{i}" for i in range(200)]
    users = [names.unix_user(slug) for slug in slugs]
    assert len(set(users)) == len(users)


def test_unix_uid_is_a_pure_function_of_the_slug_in_the_reserved_range():
    uid = names.unix_uid("asso-velo")
    assert uid == names.unix_uid("asso-velo")                       # every frontend, every rebuild
    # Pinned: a change of the function would move every space's files to new owners.
    assert uid == names.UNIX_UID_MIN + int.from_bytes(
        hashlib.sha256(b"nuagerie-unix-uid:asso-velo").digest()[:8], "big") % names.UNIX_UID_COUNT
    lowest, highest = names.UNIX_UID_MIN, names.UNIX_UID_MIN + names.UNIX_UID_COUNT - 1
    assert lowest > 65535 and highest < 2 ** 31 - 1
    uids = [names.unix_uid(f"space-{i}") for i in range(10000)]
    assert all(lowest <= u <= highest for u in uids)
    assert len(set(uids)) > 9990   # spread: a collision is rare (and refused by the catalogue)


def test_unix_uid_refuses_an_invalid_slug():
    with pytest.raises(AnsibleFilterError):
        names.unix_uid("Bad_Slug")
    with pytest.raises(AnsibleFilterError):
        names.unix_user("-x")
