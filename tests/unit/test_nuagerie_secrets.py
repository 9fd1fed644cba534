"""Unit tests of filter_plugins/nuagerie_secrets.py: HMAC derivation of per-space secrets."""

import hashlib
import hmac
import re

import pytest
from ansible.errors import AnsibleFilterError

import nuagerie_secrets as secrets

KEY = "f534f0320bed4463ff4219cde2aa53167220346fb32a1194c7c1990781f5e93c"
SECRET_RE = re.compile(r"[A-Z][a-z][0-9]_[A-Za-z0-9_-]{28}\Z")


def space(slug="asso-velo", **rotation):
    return {"slug": slug, "state": "active", "rotation": rotation}


def test_known_value_is_stable():
    """Pin one value: changing the derivation silently would rotate every secret of the farm."""
    label = (b"\x00\x00\x00\x0bnuagerie/v1" b"\x00\x00\x00\x05space" b"\x00\x00\x00\x0bdb_password"
             b"\x00\x00\x00\x09asso-velo" b"\x00\x00\x00\x010")
    assert secrets.secret_label("space", "db_password", "asso-velo", 0) == label
    mac = hmac.new(KEY.encode(), label, hashlib.sha256).digest()
    expected = secrets.encode_secret(mac)
    assert secrets.derive_secret(KEY, "space", "db_password", "asso-velo", 0) == expected
    assert expected == "Tu5_8wJrEBgMPwz3EI3CjdtsvTYEkRp3"
    # the precomputed hot path of space_secrets gives the same value
    assert secrets.space_secrets(space(), KEY)["secrets"]["db_password"] == expected
    record = secrets.space_secrets(space(admin_password=3), KEY)
    assert record["secrets"]["admin_password"] == \
        secrets.derive_secret(KEY, "space", "admin_password", "asso-velo", 3)


def test_space_secrets_shape_and_charset():
    record = secrets.space_secrets(space(), KEY)
    assert set(record["secrets"]) == set(secrets.SPACE_PURPOSES)
    for value in record["secrets"].values():
        assert SECRET_RE.match(value), value
        assert 8 <= len(value) <= 40  # MinIO secret key bounds
    assert len(set(record["secrets"].values())) == 4


def test_input_is_not_modified_and_list_form():
    spaces = [space("a"), space("b")]
    result = secrets.space_secrets(spaces, KEY)
    assert "secrets" not in spaces[0]
    assert [item["slug"] for item in result] == ["a", "b"]
    assert result[0]["secrets"] != result[1]["secrets"]
    assert secrets.space_secrets(tuple(spaces), KEY) == result


def test_deterministic():
    assert secrets.space_secrets(space(), KEY) == secrets.space_secrets(space(), KEY)
    assert secrets.farm_secret(KEY, "minio-root-password") == \
        secrets.farm_secret(KEY, "minio-root-password")


def test_rotating_one_purpose_changes_only_that_secret():
    before = secrets.space_secrets([space("a"), space("b")], KEY)
    after = secrets.space_secrets([space("a", redis_password=1), space("b")], KEY)
    assert after[1] == before[1]
    changed = {p for p in secrets.SPACE_PURPOSES
               if before[0]["secrets"][p] != after[0]["secrets"][p]}
    assert changed == {"redis_password"}


def test_explicit_zero_equals_missing_counter():
    assert secrets.space_secrets(space(db_password=0), KEY)["secrets"] == \
        secrets.space_secrets(space(), KEY)["secrets"]
    assert secrets.space_secrets({"slug": "asso-velo"}, KEY)["secrets"] == \
        secrets.space_secrets(space(), KEY)["secrets"]


def test_domain_separation():
    """Length prefixes: no two (scope, purpose, slug, rotation) tuples share a message."""
    assert secrets.secret_label("space", "b-c", "a", 0) != secrets.secret_label("space", "c", "a-b", 0)
    assert secrets.derive_secret(KEY, "space", "b-c", "a", 0) != \
        secrets.derive_secret(KEY, "space", "c", "a-b", 0)
    assert secrets.derive_secret(KEY, "space", "x", "a", 1) != \
        secrets.derive_secret(KEY, "space", "x", "a1", 0)
    # a farm secret never equals a space secret with the same purpose
    assert secrets.farm_secret(KEY, "db_password") != \
        secrets.derive_secret(KEY, "space", "db_password", "", 0)


def test_secrets_differ_across_many_spaces_and_keys():
    values = set()
    for index in range(500):
        values.update(secrets.space_secrets(space(f"s{index}"), KEY)["secrets"].values())
    assert len(values) == 2000
    other = "0" * 64
    assert secrets.space_secrets(space(), other)["secrets"] != \
        secrets.space_secrets(space(), KEY)["secrets"]


def test_farm_secret_rotation():
    assert secrets.farm_secret(KEY, "minio-root-password", 1) != \
        secrets.farm_secret(KEY, "minio-root-password")
    assert SECRET_RE.match(secrets.farm_secret(KEY, "pg-replication"))


@pytest.mark.parametrize(("key", "message"), [
    ("", "empty"), ("   ", "empty"), (None, "empty"), ("short", "fewer than 32"),
    (12345, "must be a string"), ("{{ vault_nuagerie_master_key }}", "unrendered"),
])
def test_bad_master_key(key, message):
    with pytest.raises(AnsibleFilterError, match=message):
        secrets.space_secrets(space(), key)
    with pytest.raises(AnsibleFilterError, match=message):
        secrets.farm_secret(key, "x")


@pytest.mark.parametrize(("value", "message"), [
    ("nope", "expects a space record or a list"),
    ([{"name": "x"}], "with a 'slug'"),
    ({"slug": "a", "rotation": [1]}, "rotation must be a mapping"),
    ({"slug": "a", "rotation": {"db_pasword": 1}}, "unknown rotation purpose"),
    ({"slug": "a", "rotation": {"db_password": -1}}, "integer >= 0"),
    ({"slug": "a", "rotation": {"db_password": True}}, "integer >= 0"),
])
def test_bad_records(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        secrets.space_secrets(value, KEY)


@pytest.mark.parametrize(("purpose", "rotation"), [("", 0), (None, 0), ("x", -1), ("x", "1")])
def test_bad_farm_secret_arguments(purpose, rotation):
    with pytest.raises(AnsibleFilterError):
        secrets.farm_secret(KEY, purpose, rotation)


def test_encoding_covers_every_class():
    assert secrets.encode_secret(b"\x00" * 32) == "Aa0_" + "A" * 28
    assert secrets.encode_secret(b"\xff" * 21 + b"\x00" * 11) == "Aa0_" + "_" * 28
    assert SECRET_RE.match(secrets.encode_secret(b"\xff" * 32))


def test_filters_registration():
    filters = secrets.FilterModule().filters()
    assert filters == {"nuagerie_space_secrets": secrets.space_secrets,
                       "nuagerie_farm_secret": secrets.farm_secret,
                       "nuagerie_space_nextcloud_identity": secrets.space_nextcloud_identity}
