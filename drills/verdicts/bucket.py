"""Verdicts on the bucket that holds a job's backups, read through the S3 API by the auditor
identity: could a stolen backup credential delete or rewrite the backups (versioning, object
lock), does the lifecycle agree with the runbook's retention, is anything public, is it
encrypted at rest. Each message names the bucket, the rule and the declared value.

    >>> keep_days_of(Job.model_validate({"name": "j", "host": "h", "kind": "restic", "source": "/s",
    ...     "repository": "r", "rpo": "1d", "rto": "1h", "retention": {"daily": 7, "monthly": 12}}))
    372
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from backup_drills.adapters.s3api import (
    BucketState,
    StoredObject,
    anonymous_answers,
    anonymous_grants,
    anonymous_statements,
    newest_objects,
    read_bucket,
)
from backup_drills.core.transport import DrillCouldNotRun, declared
from backup_drills.inventory.schema import BucketControls, Inventory, Job, ObjectStore
from backup_drills.verdicts.verdict import Verdict


class BucketReadings:
    """The buckets of one run's inventory as found (``DrillRun.buckets``): each read once, up
    front, before any drill acts (a store that hangs costs its limit once, not once per
    scenario); a bucket that could not be read stays so, naming why.

    >>> BucketReadings(Inventory(name="none", hosts={}, jobs={})).read([])
    {}
    """

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._found: dict[tuple[str, str], BucketState] = {}  # (store, bucket)
        self._failed: dict[tuple[str, str], str] = {}  # (store, bucket): why it could not be read
        self._newest: dict[tuple[str, str, str], list[StoredObject]] = {}  # (store, bucket, prefix)

    def read(self, jobs: list[Job]) -> dict[str, str]:
        """Read every bucket the ``jobs`` declare (once): {store/bucket: why not} for those
        that could not be read."""
        for job in jobs:
            if job.bucket is None:
                continue
            store = self.inventory.object_stores[job.bucket.store]
            key = (store.name, job.bucket.name)
            if key in self._found or key in self._failed:
                continue
            try:
                self._found[key] = read_bucket(store, job.bucket.name)
            except DrillCouldNotRun as exc:
                self._failed[key] = str(exc)
        return {f"{store}/{bucket}": why for (store, bucket), why in self._failed.items()}

    def state(self, job: Job) -> tuple[BucketControls, ObjectStore, BucketState]:
        """The job's bucket as found: its declared controls, its store, its state."""
        controls = _controls(job)
        store = self.inventory.object_stores[controls.store]
        key = (store.name, controls.name)
        if key not in self._found and key not in self._failed:
            self.read([job])
        if key in self._failed:
            raise DrillCouldNotRun(f"{_who(job, controls)}: {self._failed[key]}")
        return controls, store, self._found[key]

    def newest(self, store: ObjectStore, controls: BucketControls) -> list[StoredObject]:
        """The prefix's newest objects, read once for the lock and encryption verdicts."""
        key = (store.name, controls.name, controls.prefix)
        if key not in self._newest:
            self._newest[key] = newest_objects(store, controls.name, controls.prefix)
        return self._newest[key]


def _controls(job: Job) -> BucketControls:
    return declared(job, job.bucket, "bucket")


def _who(job: Job, controls: BucketControls) -> str:
    return f"job {job.name}, bucket {controls.name} ({controls.store})"


def versioned(buckets: BucketReadings, job: Job) -> Verdict:
    """Versioning is enabled (a rewritten or deleted object keeps its earlier version), with
    MFA delete where the job declares it."""
    controls, _, state = buckets.state(job)
    problems = [] if state.versioning == "Enabled" else [
        f"versioning is {state.versioning or 'not enabled'}, expected Enabled"]
    if controls.mfa_delete and state.mfa_delete != "Enabled":
        problems.append(f"MFA delete is {state.mfa_delete or 'not enabled'}, declared mfa_delete: true")
    return Verdict(not problems, f"{_who(job, controls)}: " + ("; ".join(problems) or "versioning Enabled"),
                   {"bucket_versioning": state.versioning})


def locked(buckets: BucketReadings, job: Job) -> Verdict:
    """Object lock is on, and new objects get a default retention of the declared mode for at
    least the declared days. Where the store refuses its lock configuration to the auditor, the
    newest objects of the prefix must carry such a retention themselves."""
    controls, store, state = buckets.state(job)
    want = declared(job, controls.object_lock, "bucket.object_lock")
    promised = f"declared {want.mode} for {want.days}d"
    if "GetObjectLockConfiguration" in state.unreadable:
        return _locked_objects(job, controls, buckets.newest(store, controls), promised)
    if not state.lock_enabled or state.lock is None:
        problem = "object lock is not enabled" if not state.lock_enabled else "no default retention"
        return Verdict(False, f"{_who(job, controls)}: {problem}, {promised}", {"bucket_lock": None})
    mode, days = state.lock
    problems = _weaker(mode, days, want.mode, want.days, promised, "default retention")
    return Verdict(not problems, f"{_who(job, controls)}: " + ("; ".join(problems) or
                   f"new objects locked by default ({mode}, {days}d), {promised}"),
                   {"bucket_lock": f"{mode} {days}d"})


def _weaker(mode: str | None, days: float, want_mode: str, want_days: int, declared: str,
            what: str) -> list[str]:
    problems = [f"{what} mode is {mode}, {declared}"] if mode != want_mode and (
        want_mode == "COMPLIANCE" or mode is None) else []
    if days < want_days - 1 / 24:  # an hour's grace: stores round the retain-until time
        problems.append(f"{what} is {days:.0f}d, shorter than {declared}")
    return problems


def _locked_objects(job: Job, controls: BucketControls, objects: list[StoredObject],
                    declared: str) -> Verdict:
    """The lock, judged from the newest objects (the store keeps its configuration from the
    auditor)."""
    where = f"the {len(objects)} newest object(s) under {controls.prefix or '(all)'}"
    if not objects:
        raise DrillCouldNotRun(f"{_who(job, controls)}: GetObjectLockConfiguration is refused to the "
                               f"auditor and no object under {controls.prefix or '(all)'} can stand for it")
    weaker = {o.key: _weaker(o.lock_mode, o.locked_days(), *_want(controls), declared, "retention")
              for o in objects}
    problems = [f"{key}: " + "; ".join(found) for key, found in weaker.items() if found]
    return Verdict(not problems, f"{_who(job, controls)} (its lock configuration refused to the auditor: "
                   f"judged from {where}): " + ("; ".join(problems) or f"each locked, {declared}"),
                   {"bucket_lock": f"{len(objects) - len(problems)}/{len(objects)} newest objects locked"})


def _want(controls: BucketControls) -> tuple[str, int]:
    assert controls.object_lock is not None
    return controls.object_lock.mode, controls.object_lock.days


def keep_days_of(job: Job) -> int | None:
    """How long the runbook keeps the job's backups, in days: ``bucket.keep_days``, else the
    longest its retention policy reaches (a week 7 days, a month 31, a year 366)."""
    if job.bucket is not None and job.bucket.keep_days:
        return job.bucket.keep_days
    policy = job.retention
    if policy is None:
        return None
    return max(policy.daily, policy.weekly * 7, policy.monthly * 31, policy.yearly * 366) or None


def _rule_prefix(rule: dict[str, Any]) -> str:
    found = rule.get("Filter", {})
    return str(found.get("Prefix", found.get("And", {}).get("Prefix", rule.get("Prefix", ""))) or "")


def lifecycle_keeps(buckets: BucketReadings, job: Job) -> Verdict:
    """No enabled lifecycle rule that covers the job's prefix expires its objects, current or
    noncurrent, sooner than the runbook keeps them."""
    controls, _, state = buckets.state(job)
    keep = keep_days_of(job)
    if keep is None:
        raise DrillCouldNotRun(f"job {job.name} declares neither bucket.keep_days nor a retention policy")
    problems = []
    for rule in state.lifecycle:
        prefix = _rule_prefix(rule)
        if rule.get("Status") != "Enabled" or not (controls.prefix.startswith(prefix) or
                                                   prefix.startswith(controls.prefix)):
            continue
        name = f"rule {rule.get('ID') or '(unnamed)'} (prefix {prefix or '(all)'})"
        expiry = rule.get("Expiration", {})
        if expiry.get("Days") is not None and int(expiry["Days"]) < keep:
            problems.append(f"{name} expires current objects after {expiry['Days']}d")
        if expiry.get("Date") is not None:
            date = expiry["Date"] if isinstance(expiry["Date"], datetime) else datetime.fromisoformat(
                str(expiry["Date"]))
            if (date.replace(tzinfo=date.tzinfo or UTC) - datetime.now(UTC)).days < keep:
                problems.append(f"{name} expires current objects on {date:%Y-%m-%d}")
        noncurrent = rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays")
        if noncurrent is not None and int(noncurrent) < keep:
            problems.append(f"{name} expires noncurrent versions after {noncurrent}d")
    return Verdict(not problems, f"{_who(job, controls)}, prefix {controls.prefix or '(all)'}: "
                   + ("; ".join(f"{p}, sooner than the {keep}d the job keeps" for p in problems)
                      or f"{len(state.lifecycle)} lifecycle rule(s), none expires sooner than {keep}d"),
                   {"lifecycle_violations": len(problems), "keep_days": keep})


def private(buckets: BucketReadings, job: Job) -> Verdict:
    """The bucket policy and ACL grant nothing to anonymous principals, and an anonymous
    request (a listing, a read of an object) is refused."""
    controls, store, state = buckets.state(job)
    problems = anonymous_statements(state.policy) + anonymous_grants(state.acl)
    problems += anonymous_answers(store, controls.name, controls.prefix)
    return Verdict(not problems, f"{_who(job, controls)}: " + ("; ".join(problems) or
                   "nothing granted to anonymous principals, anonymous requests refused"),
                   {"anonymous_findings": len(problems)})


def encrypted(buckets: BucketReadings, job: Job) -> Verdict:
    """New objects are encrypted at rest by default (a default encryption rule), where the job
    declares ``encryption: required``. Where the store refuses its encryption configuration to
    the auditor, the newest objects of the prefix must each be stored encrypted."""
    controls, store, state = buckets.state(job)
    if "GetBucketEncryption" in state.unreadable:
        objects = buckets.newest(store, controls)
        if not objects:
            raise DrillCouldNotRun(f"{_who(job, controls)}: GetBucketEncryption is refused to the auditor "
                                   f"and no object under {controls.prefix or '(all)'} can stand for it")
        clear = [o.key for o in objects if not o.encryption]
        kinds = ", ".join(sorted({str(o.encryption) for o in objects}))
        return Verdict(not clear, f"{_who(job, controls)} (its encryption configuration refused to the "
                       f"auditor: judged from the {len(objects)} newest object(s) under "
                       f"{controls.prefix or '(all)'}): " + (
                           f"stored in clear: {', '.join(clear)}, declared encryption: required" if clear
                           else f"each stored encrypted ({kinds})"),
                       {"bucket_encryption": [o.encryption for o in objects]})
    return Verdict(bool(state.encryption), f"{_who(job, controls)}: " + (
        f"default encryption {', '.join(state.encryption)}" if state.encryption else
        "no default encryption, declared encryption: required"), {"bucket_encryption": state.encryption})
