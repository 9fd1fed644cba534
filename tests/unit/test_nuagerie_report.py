"""Unit tests of filter_plugins/nuagerie_report.py."""

import pytest
from ansible.errors import AnsibleFilterError

import nuagerie_names
import nuagerie_report as r


def space(slug, state="active", office="collabora"):
    return {"slug": slug, "state": state, "office": office, "domains": [f"{slug}.lab.test"],
            "names": nuagerie_names.space_names(slug)}


def test_table_has_one_row_per_space_and_a_curl_line_per_served_space():
    spaces = [space("asso-velo"), space("club", office="onlyoffice"), space("old", state="absent")]
    lines = r.spaces_table(spaces, [{"name": "web1", "address": "172.18.0.5"},
                                    {"name": "web2", "address": "172.18.0.6"}], "/ca.crt")
    assert lines[0].split() == ["SPACE", "URL", "STATE", "OFFICE", "BUCKET", "DATABASE"]
    assert lines[1].split()[:4] == ["asso-velo", "https://asso-velo.lab.test/", "active", "collabora"]
    assert lines[1].split()[4] == nuagerie_names.space_names("asso-velo")["bucket"]
    assert lines[2].split()[3] == "onlyoffice"
    curls = [line.strip() for line in lines if line.strip().startswith("curl")]
    assert curls == [
        "curl --cacert /ca.crt --resolve asso-velo.lab.test:443:172.18.0.5 https://asso-velo.lab.test/status.php",
        "curl --cacert /ca.crt --resolve club.lab.test:443:172.18.0.5 https://club.lab.test/status.php"]
    assert any("web2 172.18.0.6" in line for line in lines)


def test_table_refuses_bad_frontends():
    with pytest.raises(AnsibleFilterError, match="name, address"):
        r.spaces_table([space("a")], ["web1"])
    with pytest.raises(AnsibleFilterError):
        r.spaces_table("a", [])


def test_table_accepts_a_mapping_of_frontends():
    lines = r.spaces_table([space("a")], {"web1": "10.0.0.5"})
    assert lines[-1].strip() == "curl -k --resolve a.lab.test:443:10.0.0.5 https://a.lab.test/status.php"
