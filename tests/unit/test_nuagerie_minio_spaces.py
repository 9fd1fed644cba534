"""Unit tests of the planning half of plugins/modules/nuagerie_minio_spaces.py (no MinIO needed)."""

import json

import pytest

from modules import nuagerie_minio_spaces as m

SECRET = "s" * 40


def _space(**extra):
    space = {"slug": "a", "bucket": "nc-a", "access_key": "nc-a", "secret_key": SECRET,
             "quota_bytes": 2 * 1024 ** 3, "state": "active", "versioning": True}
    space.update(extra)
    return space


def _converged(**extra):
    """The deployment state after space 'a' was converged."""
    state = {
        "users": {"nc-a": {"secretKey": SECRET, "status": "enabled"}},
        "policies": {"nc-a": m.policy_document("nc-a")},
        "mappings": {"nc-a": ["nc-a"]},
        "buckets": {"nc-a"},
        "versioning": {"nc-a": True},
        "quota": {"nc-a": 2 * 1024 ** 3},
    }
    state.update(extra)
    return state


def _labels(actions):
    return [a[0] for a in actions]


def _empty():
    return {"users": {}, "policies": {}, "mappings": {}, "buckets": set(), "versioning": {}, "quota": {}}


def test_new_space_gets_everything_and_secret_goes_to_stdin():
    actions, before, after = m.plan_space(_space(), _empty(), False)
    assert _labels(actions) == ["create bucket", "set quota", "write policy", "set user", "attach policy"]
    user_add = actions[3]
    assert SECRET not in " ".join(user_add[1]) and user_add[2] == SECRET + "\n"
    assert "--with-versioning" in actions[0][1]
    assert before["bucket"] == "absent" and after["secret"] == "current"


def test_new_disabled_space_is_disabled_after_its_policy_is_attached():
    # MinIO refuses to attach a policy to a disabled user: the lab found this order bug.
    labels = _labels(m.plan_space(_space(state="disabled"), _empty(), False)[0])
    assert labels == ["create bucket", "set quota", "write policy", "set user", "attach policy", "disable user"]


def test_disabled_user_without_its_policy_is_enabled_for_the_attach_then_disabled_again():
    state = _converged(users={"nc-a": {"secretKey": SECRET, "status": "disabled"}}, mappings={})
    labels = _labels(m.plan_space(_space(state="disabled"), state, False)[0])
    assert labels == ["enable user", "attach policy", "disable user"]


def test_converged_space_needs_nothing():
    assert m.plan_space(_space(), _converged(), False)[0] == []


def test_policy_comparison_ignores_order():
    doc = m.policy_document("nc-a")
    shuffled = {"Version": "2012-10-17", "Statement": [
        dict(st, Action=list(reversed(st["Action"]))) for st in reversed(doc["Statement"])]}
    assert m.plan_space(_space(), _converged(policies={"nc-a": shuffled}), False)[0] == []


@pytest.mark.parametrize(
    ("space", "state", "labels"),
    [
        (_space(secret_key="t" * 40), _converged(), ["set user"]),
        (_space(quota_bytes=3 * 1024 ** 3), _converged(), ["set quota"]),
        (_space(), _converged(versioning={"nc-a": False}), ["enable versioning"]),
        (_space(state="disabled"), _converged(), ["disable user"]),
        (_space(), _converged(users={"nc-a": {"secretKey": SECRET, "status": "disabled"}}), ["enable user"]),
        (_space(), _converged(mappings={"nc-a": ["nc-a", "readwrite"]}), ["detach policy"]),
        (_space(), _converged(policies={"nc-a": m.policy_document("nc-b")}), ["write policy"]),
        (_space(state="absent"), _converged(), ["remove user", "remove policy"]),
        (_space(state="absent"), _empty(), []),
    ],
)
def test_only_the_difference_is_acted_on(space, state, labels):
    assert _labels(m.plan_space(space, state, False)[0]) == labels


def test_absent_bucket_removed_only_when_confirmed():
    assert not {"remove objects", "remove bucket"} & set(_labels(m.plan_space(_space(state="absent"), _converged(), False)[0]))
    assert _labels(m.plan_space(_space(state="absent"), _converged(), True)[0])[-2:] == ["remove objects", "remove bucket"]


def test_a_deleted_space_loses_every_object_version_before_a_plain_bucket_removal():
    # A forced removal of a non-empty replicated bucket is refused by MinIO (MethodNotAllowed).
    actions = m.plan_space(_space(state="absent"), _converged(), True)[0]
    args = {label: argv for label, argv, _stdin, _ok in actions}
    assert args["remove objects"][:4] == ["rm", "--recursive", "--versions", "--force"]
    assert args["remove bucket"][0] == "rb" and "--force" not in args["remove bucket"]
    assert args["remove objects"][-1] == args["remove bucket"][-1]


def test_policy_allows_only_own_bucket_and_no_bucket_creation():
    doc = m.policy_document("nc-a")
    actions = {a for st in doc["Statement"] for a in st["Action"]}
    resources = {r for st in doc["Statement"] for r in st["Resource"]}
    assert resources == {"arn:aws:s3:::nc-a", "arn:aws:s3:::nc-a/*"}
    assert "s3:CreateBucket" not in actions and not any(a.endswith("*") for a in actions)


class FlakyMc:
    """An mc whose first calls fail with the given message, then succeed."""

    alias = "nuagerie"

    def __init__(self, failures, message):
        self.failures, self.message, self.calls = failures, message, []

    def run(self, args, stdin=None, ok_codes=()):
        self.calls.append(args[:3])
        if len(self.calls) <= self.failures:
            raise m.McError(self.message)
        return []


ATTACH = ("attach policy", ["admin", "policy", "attach", "{alias}", "nc-a", "--user", "nc-a"], None, ())
NO_USER = "mc admin policy attach nuagerie: The specified user does not exist. [XMinioAdminNoSuchUser]"


def test_attach_is_tried_again_while_the_new_user_is_not_visible_yet(tmp_path):
    mc, waits = FlakyMc(2, NO_USER), []
    assert m.run_actions(mc, str(tmp_path), {"slug": "a"}, [ATTACH], sleep=waits.append) is None
    assert len(mc.calls) == 3 and waits == [1.0, 2.0]


def test_attach_fails_after_the_last_try_naming_the_space_and_step(tmp_path):
    mc = FlakyMc(99, NO_USER)
    error = m.run_actions(mc, str(tmp_path), {"slug": "a"}, [ATTACH], sleep=lambda _: None)
    assert error.startswith("space a: attach policy: ") and "XMinioAdminNoSuchUser" in error
    assert len(mc.calls) == m.IAM_LAG_TRIES


def test_other_errors_and_other_steps_are_not_tried_again(tmp_path):
    other = FlakyMc(1, "mc admin policy attach nuagerie: Access Denied.")
    assert "Access Denied" in m.run_actions(other, str(tmp_path), {"slug": "a"}, [ATTACH], sleep=lambda _: None)
    assert len(other.calls) == 1
    quota = FlakyMc(1, NO_USER)
    step = ("set quota", ["quota", "set", "{alias}/nc-a", "--size", "1"], None, ())
    assert m.run_actions(quota, str(tmp_path), {"slug": "a"}, [step], sleep=lambda _: None) is not None
    assert len(quota.calls) == 1


RB = ("remove bucket", ["rb", "{alias}/nc-a"], None, ("NoSuchBucket",))
NOT_EMPTY = ("mc rb nuagerie/nc-a: Failed to remove `nuagerie/nc-a`. The bucket you tried to delete is not empty. "
             "You must delete all versions in the bucket. [BucketNotEmpty]")


def test_rb_is_tried_again_while_the_deleted_versions_are_still_being_replicated(tmp_path):
    mc, waits = FlakyMc(3, NOT_EMPTY), []
    assert m.run_actions(mc, str(tmp_path), {"slug": "a"}, [RB], sleep=waits.append) is None
    assert len(mc.calls) == 4 and waits == [1.0, 2.0, 3.0]


def test_rb_fails_after_the_last_try_naming_the_space(tmp_path):
    mc = FlakyMc(99, NOT_EMPTY)
    error = m.run_actions(mc, str(tmp_path), {"slug": "a"}, [RB], sleep=lambda _: None)
    assert error.startswith("space a: remove bucket: ") and "BucketNotEmpty" in error
    assert len(mc.calls) == m.PURGE_LAG_TRIES


def test_a_user_lag_error_on_rb_is_not_tried_again(tmp_path):
    mc = FlakyMc(1, NO_USER)
    assert m.run_actions(mc, str(tmp_path), {"slug": "a"}, [RB], sleep=lambda _: None) is not None
    assert len(mc.calls) == 1


# --- lifecycle: the restore window (issue 16) --------------------------------------------------

STORED = (b"<LifecycleConfiguration><Rule><ID>nuagerie-restore-window</ID><Status>Enabled</Status><Filter><Prefix>"
          b"</Prefix></Filter><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
          b"<NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration></Rule>"
          b"</LifecycleConfiguration>")


def test_stored_lifecycle_xml_equals_the_wanted_json():
    """What MinIO stores (bucket metadata export, checked on a local MinIO) equals what is imported."""
    assert m.canonical_lifecycle_xml(STORED) == m.canonical_lifecycle_json(m.lifecycle_document(30))
    assert m.lifecycle_status(m.canonical_lifecycle_xml(STORED), 30) == "current"
    assert m.lifecycle_status(m.canonical_lifecycle_xml(STORED), 7) == "other"
    assert m.lifecycle_status(m.canonical_lifecycle_xml(STORED), 0) == "other"
    assert m.lifecycle_status(None, 30) == "absent"
    assert m.lifecycle_status(None, 0) == "current"


@pytest.mark.parametrize("data", [None, b"", b"  ", b"<LifecycleConfiguration></LifecycleConfiguration>"])
def test_empty_lifecycle_is_none(data):
    assert m.canonical_lifecycle_xml(data) is None
    assert m.canonical_lifecycle_json({"Rules": []}) is None
    assert m.lifecycle_document(0) is None


def test_namespaced_xml_and_rule_order_do_not_matter():
    other = (b'<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><Status>Enabled</Status>'
             b"<ID>b</ID></Rule><Rule><ID>a</ID><Status>Disabled</Status></Rule></LifecycleConfiguration>")
    assert m.canonical_lifecycle_xml(other) == m.canonical_lifecycle_json(
        {"Rules": [{"ID": "a", "Status": "Disabled"}, {"ID": "b", "Status": "Enabled"}]})


def _sites(**buckets_per_site):
    return {site: buckets for site, buckets in buckets_per_site.items()}


def test_lifecycle_is_set_on_every_site_that_lacks_it():
    state = _converged(lifecycle=_sites(nuagerie={"nc-a": m.canonical_lifecycle_xml(STORED)}, b={}))
    actions, before, after = m.plan_space(_space(), state, False, 30)
    assert [(a[0], a[1]) for a in actions] == [("set lifecycle", ["ilm", "import", "b/nc-a"])]
    assert json.loads(actions[0][2]) == m.lifecycle_document(30)
    assert before["lifecycle"] == {"b": "absent", "nuagerie": "current"}
    assert after["lifecycle"] == {"b": "current", "nuagerie": "current"}


def test_converged_lifecycle_means_no_action():
    stored = m.canonical_lifecycle_xml(STORED)
    state = _converged(lifecycle=_sites(nuagerie={"nc-a": stored}, b={"nc-a": stored}))
    assert m.plan_space(_space(), state, False, 30)[0] == []


def test_changed_window_rewrites_and_zero_removes():
    stored = m.canonical_lifecycle_xml(STORED)
    state = _converged(lifecycle=_sites(nuagerie={"nc-a": stored}))
    actions = m.plan_space(_space(), state, False, 7)[0]
    assert _labels(actions) == ["set lifecycle"]
    assert json.loads(actions[0][2])["Rules"][0]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}
    actions = m.plan_space(_space(), state, False, 0)[0]
    assert [(a[0], a[1], a[3]) for a in actions] == [
        ("remove lifecycle", ["ilm", "rule", "rm", "--all", "--force", "nuagerie/nc-a"], ("NoSuchLifecycleConfiguration",))]


def test_new_bucket_gets_its_lifecycle_after_creation():
    state = dict(_empty(), lifecycle=_sites(nuagerie={}, b={}))
    labels = _labels(m.plan_space(_space(), state, False, 30)[0])
    assert labels.index("create bucket") < labels.index("set lifecycle")
    assert labels.count("set lifecycle") == 2


def test_absent_space_keeps_its_bucket_lifecycle():
    state = _converged(lifecycle=_sites(nuagerie={}))
    actions = m.plan_space(_space(state="absent"), state, False, 30)[0]
    assert "set lifecycle" not in _labels(actions)


def test_unread_site_is_not_planned():
    """A site whose export failed is not in state['lifecycle'] at all: nothing is planned there."""
    state = _converged(lifecycle=_sites(nuagerie={"nc-a": m.canonical_lifecycle_xml(STORED)}), lifecycle_unread=["b"])
    assert m.plan_space(_space(), state, False, 30)[0] == []
