"""Unit tests of filter_plugins/nuagerie_minio.py (MINIO_VOLUMES and space specs)."""

import pytest
from ansible.errors import AnsibleFilterError

import nuagerie_minio as m


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["minio-a1"], "minio-a1"),
        (["minio-a1", "minio-a2", "minio-a3", "minio-a4"], "minio-a{1...4}"),
        (["minio-a3", "minio-a1", "minio-a2"], "minio-a{1...3}"),  # inventory order does not matter
        ([f"minio-a{i}.nuagerie.example" for i in range(1, 6)], "minio-a{1...5}.nuagerie.example"),
        ([f"node{i}" for i in range(9, 13)], "node{9...12}"),
        ([f"disk{i:02d}" for i in range(1, 13)], "disk{01...12}"),
        (["/srv/minio/disk1", "/srv/minio/disk2"], "/srv/minio/disk{1...2}"),
        (["/mnt/d1/minio", "/mnt/d2/minio"], "/mnt/d{1...2}/minio"),
        (["s3-a1", "s3-a2"], "s3-a{1...2}"),  # the varying number is found wherever it is
    ],
)
def test_ellipsis(names, expected):
    assert m.ellipsis(names) == expected


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ([], "no names"),
        ("minio-a1", "must be a list"),
        (["minio-a1", "minio-a1"], "duplicate"),
        (["minio-a1", "minio-a3"], "not sequential"),
        (["minio-a1", "storage-b2"], "differ"),
        (["minio-a1", "minio-b2"], "differ in more than one place"),
        (["alpha", "beta"], "not in a number"),
        (["minio-a1", "minio-a2.b3"], "do not share one pattern"),
        (["disk08", "disk9", "disk10"], "zero-padded"),
    ],
)
def test_ellipsis_errors(names, message):
    with pytest.raises(AnsibleFilterError, match=message):
        m.ellipsis(names)


@pytest.mark.parametrize(
    ("hosts", "disks", "kwargs", "expected"),
    [
        (["s3-a1", "s3-a2", "s3-a3", "s3-a4"], ["/srv/minio/disk1", "/srv/minio/disk2"], {},
         "https://s3-a{1...4}:9000/srv/minio/disk{1...2}"),
        ([f"minio-a{i}.nuagerie.example" for i in range(1, 6)], [f"/mnt/disk{i}/minio" for i in range(1, 5)],
         {"port": 9000}, "https://minio-a{1...5}.nuagerie.example:9000/mnt/disk{1...4}/minio"),
        (["s3-b1"], [f"/srv/minio/disk{i}" for i in range(1, 5)], {}, "/srv/minio/disk{1...4}"),
        (["s3-a1", "s3-a2"], ["/srv/minio/disk1/"], {"scheme": "http", "port": "9100"},
         "http://s3-a{1...2}:9100/srv/minio/disk1"),
        ("s3-b1", "/data", {}, "/data"),
    ],
)
def test_volumes(hosts, disks, kwargs, expected):
    assert m.volumes(hosts, disks, **kwargs) == expected


def test_volumes_errors():
    with pytest.raises(AnsibleFilterError, match="scheme"):
        m.volumes(["a1", "a2"], ["/d1"], scheme="ftp")
    with pytest.raises(AnsibleFilterError, match="absolute"):
        m.volumes(["a1", "a2"], ["data1"])
    with pytest.raises(AnsibleFilterError, match="not sequential"):
        m.volumes(["a1", "a2", "a4"], ["/d1"])


def _record(slug, **extra):
    record = {
        "slug": slug,
        "quota_gb": 2,
        "state": "active",
        "names": {"bucket": f"nc-{slug}", "s3_access_key": f"nc-{slug}"},
        "secrets": {"s3_secret_key": "s" * 40},
    }
    record.update(extra)
    return record


def test_space_specs():
    specs = m.space_specs([_record("a"), _record("b", state="absent", quota_gb="40")])
    assert specs == [
        {"slug": "a", "bucket": "nc-a", "access_key": "nc-a", "secret_key": "s" * 40,
         "quota_bytes": 2 * 1024 ** 3, "state": "active", "versioning": True},
        {"slug": "b", "bucket": "nc-b", "access_key": "nc-b", "secret_key": "s" * 40,
         "quota_bytes": 40 * 1024 ** 3, "state": "absent", "versioning": True},
    ]
    assert m.space_specs([]) == []
    assert m.space_specs(None) == []
    assert m.space_specs([_record("a")], versioning=False)[0]["versioning"] is False


def test_space_specs_errors():
    record = _record("a")
    del record["secrets"]
    with pytest.raises(AnsibleFilterError, match="'a' lacks 'secrets'"):
        m.space_specs([record])


def test_filters_registered_and_deterministic():
    filters = m.FilterModule().filters()
    assert set(filters) == {"nuagerie_minio_ellipsis", "nuagerie_minio_volumes", "nuagerie_minio_space_specs"}
    hosts = [f"s3-a{i}" for i in (4, 2, 3, 1)]
    assert filters["nuagerie_minio_volumes"](hosts, ["/d1", "/d2"]) == filters["nuagerie_minio_volumes"](sorted(hosts), ["/d2", "/d1"])
