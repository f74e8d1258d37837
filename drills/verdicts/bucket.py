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

from drills.adapters.s3api import (
    BucketState,
    anonymous_answers,
    anonymous_grants,
    anonymous_statements,
    read_bucket,
)
from drills.core.transport import DrillCouldNotRun
from drills.inventory.schema import BucketControls, Inventory, Job, ObjectStore
from drills.verdicts.verdict import Verdict

_FOUND: dict[tuple[str, str], BucketState] = {}  # (store, bucket): read once per run


def forget_buckets() -> None:
    """A new run reads every bucket again."""
    _FOUND.clear()


def _controls(job: Job) -> BucketControls:
    if job.bucket is None:
        raise DrillCouldNotRun(f"job {job.name} declares no bucket")
    return job.bucket


def _state(inventory: Inventory, job: Job) -> tuple[BucketControls, ObjectStore, BucketState]:
    controls = _controls(job)
    store = inventory.object_stores[controls.store]
    key = (store.name, controls.name)
    if key not in _FOUND:
        _FOUND[key] = read_bucket(store, controls.name)
    return controls, store, _FOUND[key]


def _who(job: Job, controls: BucketControls) -> str:
    return f"job {job.name}, bucket {controls.name} ({controls.store})"


def versioned(inventory: Inventory, job: Job) -> Verdict:
    """Versioning is enabled (a rewritten or deleted object keeps its earlier version), with
    MFA delete where the job declares it."""
    controls, _, state = _state(inventory, job)
    problems = [] if state.versioning == "Enabled" else [
        f"versioning is {state.versioning or 'not enabled'}, expected Enabled"]
    if controls.mfa_delete and state.mfa_delete != "Enabled":
        problems.append(f"MFA delete is {state.mfa_delete or 'not enabled'}, declared mfa_delete: true")
    return Verdict(not problems, f"{_who(job, controls)}: " + ("; ".join(problems) or "versioning Enabled"),
                   {"bucket_versioning": state.versioning})


def locked(inventory: Inventory, job: Job) -> Verdict:
    """Object lock is on, and new objects get a default retention of the declared mode for at
    least the declared days."""
    controls, _, state = _state(inventory, job)
    want = controls.object_lock
    if want is None:
        raise DrillCouldNotRun(f"job {job.name} declares no bucket.object_lock")
    declared = f"declared {want.mode} for {want.days}d"
    if not state.lock_enabled or state.lock is None:
        problem = "object lock is not enabled" if not state.lock_enabled else "no default retention"
        return Verdict(False, f"{_who(job, controls)}: {problem}, {declared}", {"bucket_lock": None})
    mode, days = state.lock
    problems = ([f"default retention mode is {mode}, {declared}"] if mode != want.mode and
                want.mode == "COMPLIANCE" else [])
    if days < want.days:
        problems.append(f"default retention is {days}d, shorter than {declared}")
    return Verdict(not problems, f"{_who(job, controls)}: " + ("; ".join(problems) or
                   f"new objects locked by default ({mode}, {days}d), {declared}"),
                   {"bucket_lock": f"{mode} {days}d"})


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


def lifecycle_keeps(inventory: Inventory, job: Job) -> Verdict:
    """No enabled lifecycle rule that covers the job's prefix expires its objects, current or
    noncurrent, sooner than the runbook keeps them."""
    controls, _, state = _state(inventory, job)
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


def private(inventory: Inventory, job: Job) -> Verdict:
    """The bucket policy and ACL grant nothing to anonymous principals, and an anonymous
    request (a listing, a read of an object) is refused."""
    controls, store, state = _state(inventory, job)
    problems = anonymous_statements(state.policy) + anonymous_grants(state.acl)
    problems += anonymous_answers(store, controls.name, controls.prefix)
    return Verdict(not problems, f"{_who(job, controls)}: " + ("; ".join(problems) or
                   "nothing granted to anonymous principals, anonymous requests refused"),
                   {"anonymous_findings": len(problems)})


def encrypted(inventory: Inventory, job: Job) -> Verdict:
    """New objects are encrypted at rest by default (a default encryption rule), where the job
    declares ``encryption: required``."""
    controls, _, state = _state(inventory, job)
    return Verdict(bool(state.encryption), f"{_who(job, controls)}: " + (
        f"default encryption {', '.join(state.encryption)}" if state.encryption else
        "no default encryption, declared encryption: required"), {"bucket_encryption": state.encryption})
