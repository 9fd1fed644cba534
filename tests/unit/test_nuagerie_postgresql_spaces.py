"""Pure parts of plugins/modules/nuagerie_postgresql_spaces.py (no database needed)."""

import base64
import hashlib
import hmac
import os
import sys

import pytest

_PLUGINS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "plugins")
if _PLUGINS not in sys.path:  # tests/conftest.py adds it too; keep this file self-sufficient
    sys.path.insert(0, _PLUGINS)

from modules import nuagerie_postgresql_spaces as m  # noqa: E402

# RFC 7677 section 3 test vector (user "user", password "pencil").
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_AUTH_MESSAGE = (
    b"n=user,r=rOprNGfwEbeRWgbNEkqO,"
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
)


def _keys(verifier):
    _, keys = verifier[len(m.SCRAM_PREFIX):].split("$", 1)
    stored, server = keys.split(":")
    return base64.b64decode(stored), base64.b64decode(server)


def test_scram_verifier_matches_rfc7677_server_signature():
    verifier = m.scram_verifier("pencil", RFC_SALT, 4096)
    assert verifier.startswith("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$")
    stored_key, server_key = _keys(verifier)
    signature = hmac.new(server_key, RFC_AUTH_MESSAGE, hashlib.sha256).digest()
    assert base64.b64encode(signature).decode() == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    # ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage), and StoredKey = H(ClientKey).
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client_sig = hmac.new(stored_key, RFC_AUTH_MESSAGE, hashlib.sha256).digest()
    client_key = bytes(a ^ b for a, b in zip(proof, client_sig))
    assert hashlib.sha256(client_key).digest() == stored_key


def test_password_matches_uses_stored_salt_and_iterations():
    stored = m.scram_verifier("s3cret", b"0123456789abcdef", 1000)
    assert m.password_matches("s3cret", stored)
    assert not m.password_matches("other", stored)


@pytest.mark.parametrize("stored", [None, "", "md5abcdef", "SCRAM-SHA-256$x:y$z", "SCRAM-SHA-256$4096:!!$a:b"])
def test_password_matches_rejects_non_scram(stored):
    assert not m.password_matches("pw", stored)


def test_new_verifier_is_salted_randomly():
    first, second = m.new_verifier("pw", 16), m.new_verifier("pw", 16)
    assert first != second
    assert m.password_matches("pw", first) and m.password_matches("pw", second)


@pytest.mark.parametrize("acl,expected", [
    (None, True),
    (["=Tc/postgres", "postgres=CTc/postgres"], True),
    (["=T/nc_a", "nc_a=CTc/nc_a"], True),
    (["nc_a=CTc/nc_a"], False),
    ([], False),
    (["=/nc_a", "nc_a=CTc/nc_a"], False),
])
def test_public_can_connect(acl, expected):
    assert m.public_can_connect(acl) is expected


def _role(**over):
    base = {"rolcanlogin": True, "rolsuper": False, "rolcreatedb": False, "rolcreaterole": False,
            "rolreplication": False, "rolbypassrls": False, "rolinherit": True, "rolconnlimit": 20,
            "rolpassword": m.scram_verifier("pw-a", b"saltsaltsaltsalt", 64)}
    base.update(over)
    return base


SPACE_A = {"name": "nc_a", "database": "nc_a", "password": "pw-a", "state": "present"}


def test_plan_creates_everything_when_empty():
    steps = m.plan([SPACE_A], {}, {}, set(), 20, False)
    assert [s[0] for s in steps["create_roles"]] == ["nc_a"]
    assert steps["create_databases"] == [("nc_a", "nc_a")]
    assert steps["grant_group"] == ["nc_a"]
    assert m.has_changes(steps)


def test_plan_is_empty_when_converged():
    steps = m.plan([SPACE_A], {"nc_a": _role()}, {"nc_a": {"owner": "nc_a", "acl": ["nc_a=CTc/nc_a"]}},
                   {"nc_a"}, 20, False)
    assert not m.has_changes(steps)
    assert m.diff_text(steps) == {"before": "", "after": ""}


def test_plan_detects_password_attributes_owner_and_acl():
    roles = {"nc_a": _role(rolcreatedb=True, rolconnlimit=-1, rolpassword=m.scram_verifier("old", b"s" * 16, 64))}
    dbs = {"nc_a": {"owner": "postgres", "acl": None}}
    steps = m.plan([SPACE_A], roles, dbs, {"nc_a"}, 20, False)
    name, attrs, password = steps["alter_roles"][0]
    assert name == "nc_a" and password == "pw-a"
    assert attrs == {"rolcreatedb": False, "rolconnlimit": 20}
    assert steps["fix_databases"] == [("nc_a", "nc_a", True, True)]
    diff = m.diff_text(steps)
    assert "pw-a" not in diff["after"] and "PASSWORD (changed)" in diff["after"]


def test_plan_disabled_space_gets_nologin():
    steps = m.plan([dict(SPACE_A, state="disabled")], {"nc_a": _role()},
                   {"nc_a": {"owner": "nc_a", "acl": []}}, {"nc_a"}, 20, False)
    assert steps["alter_roles"] == [("nc_a", {"rolcanlogin": False}, None)]


def test_plan_absent_keeps_database_without_confirmation():
    absent = dict(SPACE_A, state="absent", password=None)
    dbs = {"nc_a": {"owner": "nc_a", "acl": []}}
    steps = m.plan([absent], {"nc_a": _role()}, dbs, {"nc_a"}, 20, False)
    assert steps["keep"] == [("nc_a", "nc_a")] and steps["drop"] == []
    steps = m.plan([absent], {"nc_a": _role()}, dbs, {"nc_a"}, 20, True)
    assert steps["drop"] == [("nc_a", "nc_a")] and steps["keep"] == []
    # Already gone: nothing to do; a kept database alone is left alone without confirmation.
    assert not m.has_changes(m.plan([absent], {}, dbs, set(), 20, False))
    assert m.plan([absent], {}, dbs, set(), 20, True)["drop"] == [("nc_a", None)]


@pytest.mark.parametrize("spaces,fragment", [
    ([{"name": "postgres", "database": "nc_a", "password": "x"}], "managed prefix"),
    ([{"name": "nc_A", "database": "nc_a", "password": "x"}], "identifier"),
    ([{"name": "nc_a", "database": "nc_a"}], "no password"),
    ([SPACE_A, dict(SPACE_A, database="nc_b")], "listed twice"),
])
def test_validate_spaces(spaces, fragment):
    problems = m.validate_spaces(spaces, "nc_")
    assert any(fragment in p for p in problems)


def test_validate_accepts_absent_without_password():
    assert m.validate_spaces([{"name": "nc_a", "database": "nc_a", "state": "absent"}], "nc_") == []


def test_attr_clauses():
    clauses = m.attr_clauses(m.desired_role_attrs("present", 7))
    assert "LOGIN" in clauses and "NOSUPERUSER" in clauses and "NOCREATEDB" in clauses
    assert "CONNECTION LIMIT 7" in clauses
