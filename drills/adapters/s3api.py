"""The bucket itself, read through the S3 API from the runner with the object store's auditor
identity (boto3): versioning, object lock, lifecycle, policy, ACL, default encryption, and
whether an anonymous request is refused. Each call has the store's limit and two attempts; a
missing key, a refused call or a store that does not answer is COULD NOT RUN, named; the
secret never leaves this module's client.

    >>> state = read_bucket(store, "backups")                   # doctest: +SKIP
    >>> state.versioning, state.lock                            # doctest: +SKIP
    ('Enabled', ('GOVERNANCE', 7))
    >>> anonymous_grants({"Grants": [{"Grantee": {"Type": "Group",
    ...     "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]})
    ['ACL grants READ to AllUsers']
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# without the s3 extra, client() names it before any reader here needs botocore
with contextlib.suppress(ModuleNotFoundError):
    import botocore.exceptions  # light; boto3 itself (0.1 s of imports) loads with the first client

from backup_drills.core.extras import extra
from backup_drills.core.secrets import Secret, register
from backup_drills.core.transport import DrillCouldNotRun
from backup_drills.inventory.schema import ObjectStore

_ABSENT = {"NoSuchLifecycleConfiguration", "NoSuchBucketPolicy", "ObjectLockConfigurationNotFoundError",
           "ServerSideEncryptionConfigurationNotFoundError", "NoSuchObjectLockConfiguration"}
_ANONYMOUS = {"http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
              "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers"}


@dataclass(frozen=True)
class BucketState:
    """What the S3 API says of one bucket (None: not configured)."""

    name: str
    versioning: str | None = None  # "Enabled", "Suspended", or None (never enabled)
    mfa_delete: str | None = None
    lock: tuple[str, int] | None = None  # default retention (mode, days)
    lock_enabled: bool = False
    lifecycle: list[dict[str, Any]] = field(default_factory=list)
    policy: dict[str, Any] | None = None
    acl: dict[str, Any] = field(default_factory=dict)
    encryption: list[str] = field(default_factory=list)  # default algorithms
    unreadable: tuple[str, ...] = ()  # configurations the store refuses to the auditor


def _secret(store: ObjectStore, name: str) -> Secret:
    """The auditor key ``name``, registered for masking (``backup_drills.core.secrets``)."""
    value = os.environ.get(name) or _from_env_file(store, name)
    if not value:
        where = f" or its env_file {store.env_file}" if store.env_file else ""
        raise DrillCouldNotRun(f"object store {store.name}: the runner's environment{where} lacks "
                               f"{name} (the auditor identity)")
    return register(value)


def auditor_keys(store: ObjectStore) -> list[Secret]:
    """The store's auditor key and key ID as far as the runner has them, registered for masking
    (a run registers them up front; what it cannot read is named when a bucket is read)."""
    found = []
    for name in (store.access_key_env, store.secret_key_env):
        try:
            found.append(_secret(store, name))
        except DrillCouldNotRun:
            continue
    return found


def _from_env_file(store: ObjectStore, name: str) -> str | None:
    if not store.env_file:
        return None
    path = Path(store.env_file)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise DrillCouldNotRun(f"object store {store.name}: cannot read env_file {path}: "
                               f"{exc.strerror}") from None
    for line in lines:
        key, _, value = line.strip().removeprefix("export ").partition("=")
        if key == name:
            return value.strip().strip("'\"")
    return None


def _config(store: ObjectStore, signed: bool = True) -> Any:
    from botocore import UNSIGNED
    from botocore.config import Config

    seconds = store.timeout.total_seconds()
    return Config(connect_timeout=min(5.0, seconds), read_timeout=seconds,
                  retries={"max_attempts": 2, "mode": "standard"},  # two attempts in all
                  signature_version="s3v4" if signed else UNSIGNED, s3={"addressing_style": "path"})


def client(store: ObjectStore) -> Any:
    """A boto3 S3 client with the store's auditor identity."""
    with extra("s3", f"object store {store.name}"):
        import boto3

    return boto3.client("s3", endpoint_url=store.endpoint, region_name=store.region,
                        aws_access_key_id=_secret(store, store.access_key_env).reveal(),
                        aws_secret_access_key=_secret(store, store.secret_key_env).reveal(),
                        config=_config(store))


class Refused(DrillCouldNotRun):
    """The store refuses the auditor this read (some stores keep a configuration to admins)."""


def _call(store: ObjectStore, bucket: str, what: str, call: Any, **args: Any) -> dict[str, Any] | None:
    """One read of the bucket's configuration: None when not configured; ``Refused`` when the
    store refuses the auditor; COULD NOT RUN when it does not answer."""
    try:
        answer: dict[str, Any] = call(Bucket=bucket, **args)
    except botocore.exceptions.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _ABSENT:
            return None
        if code == "AccessDenied":
            raise Refused(f"object store {store.name}: {what} of bucket {bucket} is refused to the "
                          "auditor identity (AccessDenied)") from None
        raise DrillCouldNotRun(f"object store {store.name}: {what} of bucket {bucket} refused: {code} "
                               f"({exc.response.get('Error', {}).get('Message', '')})") from None
    except (botocore.exceptions.BotoCoreError, OSError) as exc:
        raise DrillCouldNotRun(f"object store {store.name} ({store.endpoint}): {what} of bucket "
                               f"{bucket} did not answer within {store.timeout.total_seconds():.0f}s: "
                               f"{type(exc).__name__}") from None
    answer.pop("ResponseMetadata", None)
    return answer


def _optional(store: ObjectStore, bucket: str, what: str, call: Any,
              refused: list[str]) -> dict[str, Any] | None:
    try:
        return _call(store, bucket, what, call)
    except Refused:
        refused.append(what)
        return None


def read_bucket(store: ObjectStore, bucket: str) -> BucketState:
    """Every control of ``bucket`` the S3 API reports to the auditor (what it refuses is
    named in ``unreadable``; the verdicts then judge the newest objects instead)."""
    s3 = client(store)
    refused: list[str] = []
    versioning = _call(store, bucket, "GetBucketVersioning", s3.get_bucket_versioning) or {}
    lock = (_optional(store, bucket, "GetObjectLockConfiguration", s3.get_object_lock_configuration,
                      refused) or {}).get("ObjectLockConfiguration", {})
    retention = lock.get("Rule", {}).get("DefaultRetention", {})
    days = int(retention.get("Days") or 0) or int(retention.get("Years") or 0) * 365
    lifecycle = _call(store, bucket, "GetBucketLifecycleConfiguration",
                      s3.get_bucket_lifecycle_configuration) or {}
    policy = _call(store, bucket, "GetBucketPolicy", s3.get_bucket_policy)
    encryption = (_optional(store, bucket, "GetBucketEncryption", s3.get_bucket_encryption, refused)
                  or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    return BucketState(
        bucket, versioning.get("Status"), versioning.get("MFADelete"),
        (str(retention["Mode"]), days) if retention.get("Mode") else None,
        lock.get("ObjectLockEnabled") == "Enabled", list(lifecycle.get("Rules", [])),
        json.loads(policy["Policy"]) if policy and policy.get("Policy") else None,
        _call(store, bucket, "GetBucketAcl", s3.get_bucket_acl) or {},
        [str(rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm"))
         for rule in encryption if rule.get("ApplyServerSideEncryptionByDefault")], tuple(refused))


@dataclass(frozen=True)
class StoredObject:
    """One object as the auditor reads its head: when written, its encryption, its retention."""

    key: str
    written: datetime
    encryption: str | None
    lock_mode: str | None
    locked_until: datetime | None

    def locked_days(self) -> float:
        return (self.locked_until - self.written).total_seconds() / 86400 if self.locked_until else 0.0


NEWEST_SAMPLE = 3  # objects judged when a configuration is refused to the auditor


def newest_objects(store: ObjectStore, bucket: str, prefix: str) -> list[StoredObject]:
    """The newest few objects of the prefix's first listing page (1,000 keys at most), with
    their encryption and retention as the store reports them to the auditor."""
    s3 = client(store)
    listing = _call(store, bucket, "ListObjectsV2", s3.list_objects_v2, Prefix=prefix) or {}
    listed = listing.get("Contents", [])
    newest = sorted(listed, key=lambda entry: entry["LastModified"], reverse=True)[:NEWEST_SAMPLE]
    found = []
    for entry in newest:  # the head carries encryption and retention (GetObjectRetention may be refused)
        head = _call(store, bucket, f"HeadObject {entry['Key']}", s3.head_object, Key=entry["Key"]) or {}
        found.append(StoredObject(entry["Key"], entry["LastModified"], head.get("ServerSideEncryption"),
                                  head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate")))
    return found


def anonymous_grants(acl: dict[str, Any]) -> list[str]:
    """What an ACL grants to everyone (AllUsers) or to any signed-in account."""
    return [f"ACL grants {grant.get('Permission')} to {_ANONYMOUS[uri]}"
            for grant in acl.get("Grants", [])
            if (uri := grant.get("Grantee", {}).get("URI")) in _ANONYMOUS]


def anonymous_statements(policy: dict[str, Any] | None) -> list[str]:
    """Statements of a bucket policy that allow anything to any principal (``*``)."""
    found = []
    for statement in (policy or {}).get("Statement", []):
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else None
        everyone = principal == "*" or aws == "*" or (isinstance(aws, list) and "*" in aws)
        if statement.get("Effect") == "Allow" and everyone:
            found.append(f"policy allows {statement.get('Action')} on {statement.get('Resource')} to "
                         "anyone (Principal *)")
    return found


def anonymous_answers(store: ObjectStore, bucket: str, prefix: str) -> list[str]:
    """Unsigned requests (a listing of the prefix, and its first object if the auditor sees
    one): what an anonymous caller was given, or [] when every request was refused."""
    import boto3

    anonymous = boto3.client("s3", endpoint_url=store.endpoint, region_name=store.region,
                             config=_config(store, signed=False))
    given = []
    try:
        anonymous.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        given.append(f"an anonymous listing of {bucket}/{prefix} was answered")
    except botocore.exceptions.ClientError:
        pass
    except (botocore.exceptions.BotoCoreError, OSError) as exc:
        raise DrillCouldNotRun(f"object store {store.name} ({store.endpoint}): an anonymous request "
                               f"did not answer: {type(exc).__name__}") from None
    try:
        listed = client(store).list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("Contents", [])
    except botocore.exceptions.ClientError:
        listed = []
    for entry in listed:
        try:
            anonymous.head_object(Bucket=bucket, Key=entry["Key"])
            given.append(f"an anonymous read of {bucket}/{entry['Key']} was answered")
        except botocore.exceptions.ClientError:
            pass
    return given
