"""bucket.feature bites on the lab's object store, through its S3 API with the lab's admin
identity (as a careless administrator or a stolen admin key would): versioning suspended, a
lock period shorter than declared, a lifecycle rule that deletes too early, an anonymous read
allowed, encryption off. Each failure names the bucket, the rule and the declared value; then
the lab's bucket controls are set again as the lab sets them at bring-up."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from lab.estate import Lab
from lab.state import LabState

pytestmark = [pytest.mark.lab, pytest.mark.alone]

FLUX, CARBON = "flux-backup@motoko", "carbon-postgres@carbon"
VERSIONS = "test_the_backup_bucket_keeps_object_versions"
LOCKED = "test_new_backups_are_locked_at_least_as_long_as_declared"
LIFECYCLE = "test_no_lifecycle_rule_expires_backups_sooner_than_the_runbook_keeps_them"
PRIVATE = "test_nothing_in_the_backup_bucket_is_public"
ENCRYPTED = "test_new_backups_are_encrypted_at_rest_by_default"


PROBE = "flux/drill-fault-probe"  # beside restic's own folders: restic reads none but its own


@contextmanager
def healed(lab: Lab, bucket: Any) -> Iterator[None]:
    """Whatever the test changed, the buckets' controls as the lab sets them, and no probe
    object left (each version removed, bypassing the lab's GOVERNANCE lock as its admin may)."""
    try:
        yield
    finally:
        lab._bucket_controls(LabState.load_or_create())
        for version in bucket.list_object_versions(Bucket="backups-restic", Prefix=PROBE).get("Versions", []):
            bucket.delete_object(Bucket="backups-restic", Key=PROBE, VersionId=version["VersionId"],
                                 BypassGovernanceRetention=True)


def write_like_the_next_backup(bucket: Any) -> None:
    """A new object under the job's prefix, as the next backup writes: it gets the bucket's
    defaults as they are now (the lab's store keeps its lock and encryption configuration from
    the auditor, so the drill judges the newest objects)."""
    bucket.put_object(Bucket="backups-restic", Key=PROBE, Body=b"written after the change")


def test_suspended_versioning_fails_naming_the_bucket(drill, lab, bucket):
    drill.run(VERSIONS, CARBON).expect_pass()
    with healed(lab, bucket):
        bucket.put_bucket_versioning(Bucket="backups", VersioningConfiguration={"Status": "Suspended"})
        drill.run(VERSIONS, CARBON).expect_failure(
            "job carbon-postgres, bucket backups (lab)", "versioning is Suspended, expected Enabled")
    drill.healed(VERSIONS, CARBON)


def test_a_lock_period_shorter_than_declared_fails_naming_both(drill, lab, bucket):
    drill.run(LOCKED, FLUX).expect_pass()
    with healed(lab, bucket):
        bucket.put_object_lock_configuration(Bucket="backups-restic", ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
        write_like_the_next_backup(bucket)
        drill.run(LOCKED, FLUX).expect_failure(
            "job flux-backup, bucket backups-restic (lab)",
            f"{PROBE}: retention is 1d, shorter than declared GOVERNANCE for 7d")
    drill.healed(LOCKED, FLUX)


def test_a_lifecycle_rule_that_deletes_too_early_fails_naming_the_rule(drill, lab, bucket):
    drill.run(LIFECYCLE, FLUX).expect_pass()
    with healed(lab, bucket):
        rule = {"ID": "tidy-30d", "Status": "Enabled", "Filter": {"Prefix": "flux/"},
                "Expiration": {"Days": 30}}
        bucket.put_bucket_lifecycle_configuration(Bucket="backups-restic",
                                                  LifecycleConfiguration={"Rules": [rule]})
        drill.run(LIFECYCLE, FLUX).expect_failure(
            "job flux-backup, bucket backups-restic (lab), prefix flux/",
            "rule tidy-30d (prefix flux/) expires current objects after 30d, "
            "sooner than the 372d the job keeps")
    drill.healed(LIFECYCLE, FLUX)


def test_an_anonymous_read_allowed_fails_naming_the_statement_and_the_answer(drill, lab, bucket):
    drill.run(PRIVATE, FLUX).expect_pass()
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": ["arn:aws:s3:::backups-restic", "arn:aws:s3:::backups-restic/*"]}]}
    with healed(lab, bucket):
        bucket.put_bucket_policy(Bucket="backups-restic", Policy=json.dumps(policy))
        drill.run(PRIVATE, FLUX).expect_failure(
            "job flux-backup, bucket backups-restic (lab)", "to anyone (Principal *)",
            "an anonymous read of backups-restic/flux/")
    drill.healed(PRIVATE, FLUX)


def test_default_encryption_off_fails_naming_the_declaration(drill, lab, bucket):
    drill.run(ENCRYPTED, FLUX).expect_pass()
    with healed(lab, bucket):
        bucket.delete_bucket_encryption(Bucket="backups-restic")
        write_like_the_next_backup(bucket)
        drill.run(ENCRYPTED, FLUX).expect_failure(
            "job flux-backup, bucket backups-restic (lab)",
            f"stored in clear: {PROBE}, declared encryption: required")
    drill.healed(ENCRYPTED, FLUX)
