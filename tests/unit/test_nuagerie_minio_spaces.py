"""Unit tests of the planning half of plugins/modules/nuagerie_minio_spaces.py (no MinIO needed)."""

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
