"""The bucket verdicts' rules, on bucket states as the S3 API reports them (the lab's fault
tests prove them against a real S3 server): which lifecycle rules expire too early, which policy
statements and grants open a bucket to anyone, how the auditor's key is found."""

from datetime import UTC, datetime, timedelta

import pytest

from backup_drills.adapters.s3api import BucketState, _secret, anonymous_grants, anonymous_statements
from backup_drills.core.transport import DrillCouldNotRun
from backup_drills.inventory.schema import Inventory
from backup_drills.verdicts import bucket as verdicts


def inventory(**bucket: object) -> Inventory:
    return Inventory.model_validate({
        "name": "t", "object_stores": {"s3": {"endpoint": "http://127.0.0.1:9", "access_key_env": "K",
                                              "secret_key_env": "S"}},
        "hosts": {"h": {"transport": "local://"}},
        "jobs": {"j": {"host": "h", "kind": "restic", "source": "/s", "repository": "r", "rpo": "1d",
                       "rto": "1h", "retention": {"daily": 7, "monthly": 12},
                       "bucket": {"store": "s3", "name": "backups", "prefix": "flux/", **bucket}}}})


READINGS = verdicts.BucketReadings(inventory())  # the state tests plant found buckets in


def readings(inv: Inventory) -> verdicts.BucketReadings:
    """The planted buckets, read as ``inv``'s."""
    READINGS.inventory = inv
    return READINGS


@pytest.fixture
def state(monkeypatch):
    def found(**values: object) -> None:
        monkeypatch.setitem(READINGS._found, ("s3", "backups"), BucketState("backups", **values))
    return found


def test_lifecycle_rules_that_expire_the_prefix_too_early_are_named(state):
    soon = datetime.now(UTC) + timedelta(days=10)
    state(lifecycle=[
        {"ID": "ok", "Status": "Enabled", "Filter": {"Prefix": ""},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 400}},
        {"ID": "other-prefix", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 1}},
        {"ID": "disabled", "Status": "Disabled", "Filter": {"Prefix": "flux/"}, "Expiration": {"Days": 1}},
        {"ID": "noncurrent", "Status": "Enabled", "Filter": {"And": {"Prefix": "flux/"}},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 30}},
        {"ID": "dated", "Status": "Enabled", "Prefix": "flux/data/", "Expiration": {"Date": soon}}])
    inv = inventory()
    verdict = verdicts.lifecycle_keeps(readings(inv), inv.jobs["j"])
    assert not verdict.ok
    assert "rule noncurrent (prefix flux/) expires noncurrent versions after 30d" in verdict.message
    assert f"rule dated (prefix flux/data/) expires current objects on {soon:%Y-%m-%d}" in verdict.message
    assert "the 372d the job keeps" in verdict.message  # 12 monthly: 12 x 31 days
    assert "other-prefix" not in verdict.message
    assert "disabled" not in verdict.message


def test_keep_days_declared_wins_over_the_retention_policy(state):
    state(lifecycle=[{"ID": "e", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 100}}])
    inv = inventory(keep_days=90)
    assert verdicts.lifecycle_keeps(readings(inv), inv.jobs["j"]).ok


def test_a_lock_weaker_or_shorter_than_declared_fails_a_stronger_one_passes(state):
    inv = inventory(object_lock={"mode": "COMPLIANCE", "days": 30})
    state(lock_enabled=True, lock=("GOVERNANCE", 30))
    assert "default retention mode is GOVERNANCE, declared COMPLIANCE for 30d" in \
        verdicts.locked(readings(inv), inv.jobs["j"]).message
    state(lock_enabled=True, lock=("COMPLIANCE", 365))
    assert verdicts.locked(readings(inv), inv.jobs["j"]).ok
    state(lock_enabled=False)
    message = verdicts.locked(readings(inv), inv.jobs["j"]).message
    assert "object lock is not enabled, declared COMPLIANCE for 30d" in message


def test_statements_and_grants_for_everyone_are_found_others_are_not():
    policy = {"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:root", "*"]}, "Action": "s3:ListBucket"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject"}]}
    assert len(anonymous_statements(policy)) == 2
    assert anonymous_statements(None) == []
    acl = {"Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": "owner"}, "Permission": "FULL_CONTROL"},
                      {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/"
                                                          "AuthenticatedUsers"}, "Permission": "WRITE"}]}
    assert anonymous_grants(acl) == ["ACL grants WRITE to AuthenticatedUsers"]


def test_the_auditor_key_comes_from_the_environment_else_its_env_file_else_could_not_run(tmp_path,
                                                                                       monkeypatch):
    env = tmp_path / "auditor.env"
    env.write_text("export K='from-file'\n")
    store = inventory().object_stores["s3"].model_copy(update={"env_file": str(env)})
    monkeypatch.delenv("K", raising=False)
    assert _secret(store, "K").reveal() == "from-file"  # a Secret: masked where shown
    monkeypatch.setenv("K", "from-env")
    assert _secret(store, "K").reveal() == "from-env"
    with pytest.raises(DrillCouldNotRun, match=r"lacks S \(the auditor identity\)"):
        _secret(store, "S")


def test_a_bucket_naming_an_unknown_store_is_an_inventory_error():
    with pytest.raises(ValueError, match=r"bucket\.store: expected one of object_stores \['s3'\]"):
        inventory(store="nowhere")
