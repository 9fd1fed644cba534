# -*- coding: utf-8 -*-
"""Converge every space's PostgreSQL login role and database in one set-based task.

One connection, a handful of catalogue queries, then only the difference is applied (roles and
grants in one transaction; ``CREATE DATABASE`` cannot run in a transaction, so each is its own
statement). Passwords are sent as SCRAM-SHA-256 verifiers computed here, never in clear, and an
unchanged password is recognised by recomputing the stored verifier with its own salt and
iteration count.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time

from ansible.module_utils.basic import AnsibleModule

try:
    import psycopg2
    from psycopg2 import sql as pgsql
    HAS_PSYCOPG2 = True
except ImportError:  # pragma: no cover - the DB host installs python3-psycopg2
    psycopg2 = None
    pgsql = None
    HAS_PSYCOPG2 = False

DOCUMENTATION = r"""
---
module: nuagerie_postgresql_spaces
short_description: Converge all spaces' PostgreSQL roles and databases at once
description:
  - One login role and one database per space; the role owns its database, C(CONNECT) and
    C(TEMPORARY) are revoked from C(PUBLIC), and the role has no superuser, createdb,
    createrole, replication or bypassrls attribute and a connection limit.
  - Reads the current state in a few queries and applies only the difference. Reports
    C(changed) only when something was (or, in check mode, would be) changed.
  - Passwords are compared with the stored SCRAM-SHA-256 verifier (same salt and iterations)
    and set as verifiers, so clear-text passwords never reach the server or its logs.
  - C(state=disabled) keeps role and database but sets C(NOLOGIN).
  - C(state=absent) drops the role. Its database is dropped only when O(drop_databases=true),
    after a C(pg_dump -Fc) into O(dump_dir); otherwise the database and everything in it are
    reassigned to the superuser and kept.
options:
  spaces:
    description: Desired spaces.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Login role name.
        type: str
        required: true
      database:
        description: Database name.
        type: str
        required: true
      password:
        description: Clear-text password (required unless O(spaces[].state=absent); never logged).
        type: str
      state:
        description: C(active)/C(present), C(disabled) or C(absent).
        type: str
        default: present
        choices: [present, active, disabled, absent]
  group_role:
    description: NOLOGIN role every space role is a member of (used by pg_hba C(+group)).
    type: str
    default: nuagerie_spaces
  managed_prefix:
    description: Refuse to manage any role or database whose name does not start with this.
    type: str
    default: nc_
  connection_limit:
    description: Connection limit of each space role.
    type: int
    default: 20
  drop_databases:
    description: Drop the databases of absent spaces (after a dump). Destructive.
    type: bool
    default: false
  dump_dir:
    description: Where the dumps of dropped databases are kept (required with O(drop_databases=true)).
    type: path
  scram_iterations:
    description: PBKDF2 iterations of newly set SCRAM verifiers.
    type: int
    default: 4096
  login_user:
    description: Superuser to connect as (through the Unix socket, peer map).
    type: str
    default: postgres
  login_unix_socket:
    description: Unix socket directory.
    type: path
    default: /var/run/postgresql
  login_db:
    description: Database to connect to.
    type: str
    default: postgres
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
requirements: [psycopg2]
author: [Nuagerie]
"""

EXAMPLES = r"""
- name: Converge all spaces' roles and databases
  nuagerie_postgresql_spaces:
    spaces:
      - {name: nc_asso_velo, database: nc_asso_velo, password: "{{ pw }}", state: present}
    connection_limit: 20
  no_log: true
"""

RETURN = r"""
created_roles: {description: Roles created., returned: always, type: list, elements: str}
altered_roles: {description: "Roles whose attributes, password or membership changed.", returned: always, type: list, elements: str}
created_databases: {description: Databases created., returned: always, type: list, elements: str}
fixed_databases: {description: Databases whose owner or PUBLIC privileges were corrected., returned: always, type: list, elements: str}
dropped_roles: {description: Roles dropped., returned: always, type: list, elements: str}
dropped_databases: {description: Databases dropped (after a dump)., returned: always, type: list, elements: str}
kept_databases: {description: Databases of absent spaces kept and reassigned to the superuser., returned: always, type: list, elements: str}
dumps: {description: Dump files written before dropping., returned: always, type: list, elements: str}
"""

SCRAM_PREFIX = "SCRAM-SHA-256$"
_IDENT_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")
ACTIVE_STATES = ("present", "active")


# ---------------------------------------------------------------------------------------------
# Pure helpers (unit-tested in tests/unit/test_nuagerie_postgresql_spaces.py)
# ---------------------------------------------------------------------------------------------

def scram_verifier(password: str, salt: bytes, iterations: int = 4096) -> str:
    """Compute the SCRAM-SHA-256 verifier PostgreSQL stores in ``pg_authid.rolpassword``.

    :param password: clear-text password (ASCII; SASLprep is the identity on ASCII).
    :param salt: raw salt bytes.
    :param iterations: PBKDF2 iteration count.
    :returns: ``SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`` (base64 fields).
    """
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda raw: base64.b64encode(raw).decode("ascii")  # noqa: E731
    return f"{SCRAM_PREFIX}{iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def parse_verifier(stored: str | None) -> tuple[int, bytes] | None:
    """Return ``(iterations, salt)`` of a stored SCRAM verifier, or None when it is not one."""
    if not stored or not stored.startswith(SCRAM_PREFIX):
        return None
    try:
        head, _keys = stored[len(SCRAM_PREFIX):].split("$", 1)
        iterations, salt_b64 = head.split(":", 1)
        return int(iterations), base64.b64decode(salt_b64, validate=True)
    except (ValueError, TypeError):
        return None


def password_matches(password: str, stored: str | None) -> bool:
    """Tell whether ``stored`` (pg_authid.rolpassword) is a SCRAM verifier of ``password``."""
    parsed = parse_verifier(stored)
    if parsed is None:
        return False
    iterations, salt = parsed
    return hmac.compare_digest(scram_verifier(password, salt, iterations), stored)


def new_verifier(password: str, iterations: int = 4096) -> str:
    """A fresh verifier with a random 16-byte salt (PostgreSQL's own salt length)."""
    return scram_verifier(password, os.urandom(16), iterations)


def public_can_connect(datacl: list[str] | None) -> bool:
    """Tell whether PUBLIC holds CONNECT or TEMPORARY in a database ACL (``datacl::text[]``).

    A NULL ACL means the built-in default, which grants both to PUBLIC.
    """
    if datacl is None:
        return True
    for item in datacl:
        grantee, _, rest = item.partition("=")
        privs = rest.split("/", 1)[0]
        if grantee == "" and ("c" in privs or "T" in privs):
            return True
    return False


def desired_role_attrs(state: str, connection_limit: int) -> dict:
    """Role attributes a space role must have in ``state``."""
    return {
        "rolcanlogin": state in ACTIVE_STATES,
        "rolsuper": False,
        "rolcreatedb": False,
        "rolcreaterole": False,
        "rolreplication": False,
        "rolbypassrls": False,
        "rolinherit": True,
        "rolconnlimit": connection_limit,
    }


_ATTR_SQL = {
    "rolcanlogin": ("LOGIN", "NOLOGIN"),
    "rolsuper": ("SUPERUSER", "NOSUPERUSER"),
    "rolcreatedb": ("CREATEDB", "NOCREATEDB"),
    "rolcreaterole": ("CREATEROLE", "NOCREATEROLE"),
    "rolreplication": ("REPLICATION", "NOREPLICATION"),
    "rolbypassrls": ("BYPASSRLS", "NOBYPASSRLS"),
    "rolinherit": ("INHERIT", "NOINHERIT"),
}


def attr_clauses(attrs: dict) -> list[str]:
    """SQL option keywords for a role attribute dict (``CONNECTION LIMIT n`` included)."""
    clauses = [_ATTR_SQL[key][0 if value else 1] for key, value in attrs.items() if key in _ATTR_SQL]
    if "rolconnlimit" in attrs:
        clauses.append(f"CONNECTION LIMIT {int(attrs['rolconnlimit'])}")
    return clauses


def validate_spaces(spaces: list[dict], managed_prefix: str) -> list[str]:
    """Return every problem of the desired list (bad names, duplicates, missing passwords)."""
    problems = []
    seen_roles: set[str] = set()
    seen_dbs: set[str] = set()
    for space in spaces:
        for key in ("name", "database"):
            value = space.get(key) or ""
            if not _IDENT_RE.match(value):
                problems.append(f"{key} {value!r} is not a plain lower-case PostgreSQL identifier")
            elif not value.startswith(managed_prefix):
                problems.append(f"{key} {value!r} does not start with the managed prefix {managed_prefix!r}")
        if space.get("name") in seen_roles:
            problems.append(f"role {space.get('name')!r} listed twice")
        if space.get("database") in seen_dbs:
            problems.append(f"database {space.get('database')!r} listed twice")
        seen_roles.add(space.get("name"))
        seen_dbs.add(space.get("database"))
        if space.get("state", "present") != "absent" and not space.get("password"):
            problems.append(f"role {space.get('name')!r} has no password")
    return problems


def plan(spaces: list[dict], roles: dict, databases: dict, members: set[str],
         connection_limit: int, drop_databases: bool) -> dict:
    """Compute the difference between the desired spaces and the current catalogue.

    :param spaces: desired spaces (name, database, password, state).
    :param roles: current roles by name: pg_authid columns (``rolpassword`` included).
    :param databases: current databases by name: ``{"owner": str, "acl": list|None}``.
    :param members: names of the current members of the group role.
    :param connection_limit: wanted connection limit.
    :param drop_databases: whether absent spaces' databases are dropped.
    :returns: a dict of lists: ``create_roles`` and ``alter_roles`` (name, attr dict,
        password or None), ``grant_group`` (names), ``create_databases`` (db, owner),
        ``fix_databases`` (db, owner, fix_owner, fix_acl), ``drop`` (db or None, role),
        ``keep`` (db or None, role).
    """
    out = {key: [] for key in ("create_roles", "alter_roles", "grant_group", "create_databases",
                               "fix_databases", "drop", "keep")}
    for space in spaces:
        name, database = space["name"], space["database"]
        state = space.get("state") or "present"
        current = roles.get(name)
        db = databases.get(database)
        if state == "absent":
            if current is None and (db is None or not drop_databases):
                continue
            if drop_databases:
                out["drop"].append((database if db else None, name if current else None))
            elif current is not None:
                out["keep"].append((database if db and db["owner"] == name else None, name))
            continue
        want = desired_role_attrs(state, connection_limit)
        if current is None:
            out["create_roles"].append((name, want, space["password"]))
        else:
            attrs = {k: v for k, v in want.items() if current.get(k) != v}
            password = None if password_matches(space["password"], current.get("rolpassword")) else space["password"]
            if attrs or password is not None:
                out["alter_roles"].append((name, attrs, password))
        if name not in members:
            out["grant_group"].append(name)
        if db is None:
            out["create_databases"].append((database, name))
        else:
            fix_owner = db["owner"] != name
            fix_acl = public_can_connect(db["acl"])
            if fix_owner or fix_acl:
                out["fix_databases"].append((database, name, fix_owner, fix_acl))
    return out


def summary(steps: dict) -> dict:
    """Names-only summary of a plan (safe to return and to show as a diff)."""
    return {
        "created_roles": [s[0] for s in steps["create_roles"]],
        "altered_roles": sorted({s[0] for s in steps["alter_roles"]} | set(
            n for n in steps["grant_group"] if n not in {s[0] for s in steps["create_roles"]})),
        "created_databases": [s[0] for s in steps["create_databases"]],
        "fixed_databases": [s[0] for s in steps["fix_databases"]],
        "dropped_roles": [s[1] for s in steps["drop"] if s[1]] + [s[1] for s in steps["keep"]],
        "dropped_databases": [s[0] for s in steps["drop"] if s[0]],
        "kept_databases": [s[0] for s in steps["keep"] if s[0]],
    }


def has_changes(steps: dict) -> bool:
    return any(steps[key] for key in steps)


def diff_text(steps: dict) -> dict:
    """Ansible diff (names and attributes only, never passwords)."""
    before, after = [], []
    for name, attrs, _pw in steps["create_roles"]:
        after.append(f"role {name} " + " ".join(attr_clauses(attrs)))
    for name, attrs, password in steps["alter_roles"]:
        after.append(f"role {name} " + " ".join(attr_clauses(attrs)) + (" PASSWORD (changed)" if password else ""))
    for name in steps["grant_group"]:
        after.append(f"role {name} member of group role")
    for database, owner in steps["create_databases"]:
        after.append(f"database {database} owner {owner}, no CONNECT for PUBLIC")
    for database, owner, fix_owner, fix_acl in steps["fix_databases"]:
        after.append(f"database {database}" + (f" owner {owner}" if fix_owner else "") + (" CONNECT revoked from PUBLIC" if fix_acl else ""))
    for database, role in steps["drop"]:
        before.append(" ".join(x for x in (f"database {database}" if database else "", f"role {role}" if role else "") if x))
    for database, role in steps["keep"]:
        before.append(f"role {role}" + (f" (database {database} kept, owner postgres)" if database else ""))
    return {"before": "\n".join(before) + ("\n" if before else ""), "after": "\n".join(after) + ("\n" if after else "")}


# ---------------------------------------------------------------------------------------------
# Database side
# ---------------------------------------------------------------------------------------------

def read_state(cur, spaces: list[dict], group_role: str):
    names = [s["name"] for s in spaces]
    databases = [s["database"] for s in spaces]
    cur.execute(
        "SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication,"
        " rolbypassrls, rolinherit, rolconnlimit, rolpassword FROM pg_authid WHERE rolname = ANY(%s)",
        (names,))
    cols = [d[0] for d in cur.description]
    roles = {row[0]: dict(zip(cols, row)) for row in cur.fetchall()}
    cur.execute(
        "SELECT datname, pg_get_userbyid(datdba), datacl::text[] FROM pg_database WHERE datname = ANY(%s)",
        (databases,))
    dbs = {row[0]: {"owner": row[1], "acl": row[2]} for row in cur.fetchall()}
    cur.execute(
        "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member"
        " JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = %s", (group_role,))
    members = {row[0] for row in cur.fetchall()}
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (group_role,))
    group_exists = cur.fetchone() is not None
    return roles, dbs, members, group_exists


def role_sql(verb: str, name: str, attrs: dict, verifier: str | None):
    parts = [pgsql.SQL(verb + " ROLE "), pgsql.Identifier(name)]
    clauses = attr_clauses(attrs)
    if clauses or verifier:
        parts.append(pgsql.SQL(" WITH " + " ".join(clauses)))
    if verifier:
        parts.append(pgsql.SQL(" PASSWORD ") + pgsql.Literal(verifier))
    return pgsql.Composed(parts)


def apply(module, conn, steps: dict, params: dict) -> list[str]:
    group = pgsql.Identifier(params["group_role"])
    iterations = params["scram_iterations"]
    dumps = []
    # 1. Roles, memberships: one transaction.
    conn.autocommit = False
    with conn.cursor() as cur:
        if params["_create_group"]:
            cur.execute(pgsql.SQL("CREATE ROLE {} NOLOGIN").format(group))
        for name, attrs, password in steps["create_roles"]:
            cur.execute(role_sql("CREATE", name, attrs, new_verifier(password, iterations)))
        for name, attrs, password in steps["alter_roles"]:
            cur.execute(role_sql("ALTER", name, attrs, new_verifier(password, iterations) if password else None))
        for name in steps["grant_group"]:
            cur.execute(pgsql.SQL("GRANT {} TO {}").format(group, pgsql.Identifier(name)))
    conn.commit()
    # 2. CREATE DATABASE cannot run inside a transaction block.
    conn.autocommit = True
    with conn.cursor() as cur:
        for database, owner in steps["create_databases"]:
            cur.execute(pgsql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'").format(
                pgsql.Identifier(database), pgsql.Identifier(owner)))
    # 3. Owners and PUBLIC privileges: one transaction.
    conn.autocommit = False
    with conn.cursor() as cur:
        for database, owner in steps["create_databases"]:
            cur.execute(pgsql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(pgsql.Identifier(database)))
        for database, owner, fix_owner, fix_acl in steps["fix_databases"]:
            if fix_owner:
                cur.execute(pgsql.SQL("ALTER DATABASE {} OWNER TO {}").format(pgsql.Identifier(database), pgsql.Identifier(owner)))
            if fix_acl:
                cur.execute(pgsql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(pgsql.Identifier(database)))
    conn.commit()
    # 4. Absent spaces.
    conn.autocommit = True
    with conn.cursor() as cur:
        for database, role in steps["drop"] + steps["keep"]:
            if role:
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
        for database, role in steps["drop"]:
            if database:
                dumps.append(dump_database(module, params, database))
                cur.execute(pgsql.SQL("DROP DATABASE {} WITH (FORCE)").format(pgsql.Identifier(database)))
            if role:
                cur.execute(pgsql.SQL("DROP ROLE {}").format(pgsql.Identifier(role)))
        for database, role in steps["keep"]:
            if database:
                with connect(params, database) as other:
                    other.autocommit = True
                    with other.cursor() as ocur:
                        ocur.execute(pgsql.SQL("REASSIGN OWNED BY {} TO {}").format(
                            pgsql.Identifier(role), pgsql.Identifier(params["login_user"])))
                        ocur.execute(pgsql.SQL("DROP OWNED BY {}").format(pgsql.Identifier(role)))
                other.close()
            cur.execute(pgsql.SQL("REASSIGN OWNED BY {} TO {}").format(pgsql.Identifier(role), pgsql.Identifier(params["login_user"])))
            cur.execute(pgsql.SQL("DROP OWNED BY {}").format(pgsql.Identifier(role)))
            cur.execute(pgsql.SQL("DROP ROLE {}").format(pgsql.Identifier(role)))
    return dumps


def dump_database(module, params: dict, database: str) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    os.makedirs(params["dump_dir"], mode=0o700, exist_ok=True)
    path = os.path.join(params["dump_dir"], f"{database}-{stamp}-dropped.dump")
    rc, _out, err = module.run_command([
        "pg_dump", "-Fc", "-h", params["login_unix_socket"], "-U", params["login_user"], "-f", path, database])
    if rc != 0:
        module.fail_json(msg=f"pg_dump of {database} failed before dropping it (nothing dropped for it): {err}")
    return path


def connect(params: dict, database: str):
    return psycopg2.connect(host=params["login_unix_socket"], user=params["login_user"], dbname=database,
                            application_name="nuagerie_postgresql_spaces")


def main():
    module = AnsibleModule(
        argument_spec={
            "spaces": {"type": "list", "elements": "dict", "required": True, "options": {
                "name": {"type": "str", "required": True},
                "database": {"type": "str", "required": True},
                "password": {"type": "str", "no_log": True},
                "state": {"type": "str", "default": "present", "choices": ["present", "active", "disabled", "absent"]},
            }},
            "group_role": {"type": "str", "default": "nuagerie_spaces"},
            "managed_prefix": {"type": "str", "default": "nc_"},
            "connection_limit": {"type": "int", "default": 20},
            "drop_databases": {"type": "bool", "default": False},
            "dump_dir": {"type": "path"},
            "scram_iterations": {"type": "int", "default": 4096},
            "login_user": {"type": "str", "default": "postgres"},
            "login_unix_socket": {"type": "path", "default": "/var/run/postgresql"},
            "login_db": {"type": "str", "default": "postgres"},
        },
        required_if=[("drop_databases", True, ("dump_dir",))],
        supports_check_mode=True,
    )
    if not HAS_PSYCOPG2:
        module.fail_json(msg="psycopg2 is required on the database host (apt: python3-psycopg2)")
    params = dict(module.params)
    spaces = params["spaces"]
    problems = validate_spaces(spaces, params["managed_prefix"])
    if problems:
        module.fail_json(msg="invalid spaces: " + "; ".join(problems[:20]))
    try:
        conn = connect(params, params["login_db"])
    except psycopg2.Error as exc:
        module.fail_json(msg=f"cannot connect to PostgreSQL: {exc}")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_is_in_recovery()")
            if cur.fetchone()[0]:
                module.fail_json(msg="this server is a standby (in recovery); run against the primary")
            roles, dbs, members, group_exists = read_state(cur, spaces, params["group_role"])
        conn.rollback()
        steps = plan(spaces, roles, dbs, members, params["connection_limit"], params["drop_databases"])
        params["_create_group"] = not group_exists
        changed = has_changes(steps) or not group_exists
        result = {"changed": changed, "dumps": [], **summary(steps)}
        if module._diff:
            result["diff"] = diff_text(steps)
        if changed and not module.check_mode:
            result["dumps"] = apply(module, conn, steps, params)
    except psycopg2.Error as exc:
        conn.rollback()
        module.fail_json(msg=f"PostgreSQL error: {exc}")
    finally:
        conn.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
