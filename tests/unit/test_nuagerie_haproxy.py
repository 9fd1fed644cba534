"""Unit tests of filter_plugins/nuagerie_haproxy.py (which S3 nodes a frontend's endpoint sees UP)."""

import pytest
from ansible.errors import AnsibleFilterError

import nuagerie_haproxy as h

# The first 37 columns of HAProxy 2.6's statistics CSV (Debian 12), as the lab's endpoint returns
# them; rows are cut to the same width. Status is column 18 (index 17).
HEADER = ("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,"
          "wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,"
          "lbtot,tracked,type,rate,rate_lim,rate_max,check_status")


def row(proxy: str, server: str, status: str) -> str:
    fields = [proxy, server] + [""] * 15 + [status] + [""] * 18 + ["L7OK"]
    return ",".join(fields)


STATS = "\n".join([
    HEADER,
    row("s3", "FRONTEND", "OPEN"),
    row("site_a", "pf-minio-a1", "UP"),
    row("site_a", "pf-minio-a2", "UP 1/3"),     # failing, not yet at the fall count: still serves
    row("site_a", "pf-minio-a3", "DOWN"),
    row("site_a", "pf-minio-a4", "DOWN 1/2"),   # coming back, not yet trusted
    row("site_a", "BACKEND", "UP"),
    row("site_b", "pf-minio-b1", "MAINT"),
    row("site_b", "pf-minio-b2", "no check"),
    row("site_b", "pf-minio-b3", "UP"),
    row("site_b", "BACKEND", "UP"),
]) + "\n"


def test_up_servers_of_the_whole_endpoint_in_haproxy_order():
    assert h.up_servers(STATS) == ["pf-minio-a1", "pf-minio-a2", "pf-minio-b3"]


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("site_a", ["pf-minio-a1", "pf-minio-a2"]),
        ("site_b", ["pf-minio-b3"]),
        ("site_c", []),
    ],
)
def test_up_servers_of_one_backend(backend, expected):
    assert h.up_servers(STATS, backend) == expected


def test_no_server_up_gives_an_empty_list():
    stats = "\n".join([HEADER, row("site_a", "pf-minio-a1", "DOWN"), row("site_a", "BACKEND", "DOWN")])
    assert h.up_servers(stats, "site_a") == []


def test_columns_are_found_by_the_header_not_by_position():
    stats = "# status,svname,pxname\nUP,pf-minio-a1,site_a\nDOWN,pf-minio-a2,site_a\nUP,BACKEND,site_a\n"
    assert h.up_servers(stats, "site_a") == ["pf-minio-a1"]


def test_a_short_row_is_skipped_not_misread():
    stats = "\n".join([HEADER, "site_a,pf-minio-a9", row("site_a", "pf-minio-a1", "UP")])
    assert h.up_servers(stats) == ["pf-minio-a1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not HAProxy's statistics CSV"),
        ("<html>503 Service Unavailable</html>", "not HAProxy's statistics CSV"),
        ("# pxname,svname,scur\nsite_a,pf-minio-a1,0\n", "lacks pxname, svname or status"),
        (None, "expected HAProxy's statistics CSV as text"),
    ],
)
def test_refuses_what_is_not_a_statistics_csv(text, message):
    with pytest.raises(AnsibleFilterError, match=message):
        h.up_servers(text)


def test_filter_module_exposes_the_prefixed_name():
    assert h.FilterModule().filters() == {"nuagerie_haproxy_up_servers": h.up_servers}
