"""The job kinds, declared once: a kind's name (as inventories write it), its Gherkin tag (also
its pytest marker, registered by the plugin) and what a job of that kind must declare. The
inventory's validation, tag selection and markers all derive from this registry.

    >>> KINDS["restic"].tag, KINDS["restic"].needs
    ('restic', ('source', 'repository', 'rto'))
    >>> missing_needs(KINDS["pg-dump"], {"rto": "4h", "dump": {"path": "/d"}}.get)
    "a pg-dump job needs 'dump.database', the database the dump holds"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kind:
    """One kind of backup job."""

    name: str  # as an inventory writes it: ``kind: restic``
    tag: str  # its Gherkin tag and pytest marker: ``@restic``, ``-m restic``
    description: str
    # keys (dotted: ``dump.database``) a job of this kind must declare, in the order they are
    # checked; a tuple of keys is one requirement named together
    needs: tuple[str | tuple[str, ...], ...] = ()
    why: dict[str, str] = field(default_factory=dict)  # a requirement's explanation, by first key
    # the tool that keeps the job's backups (its ``repository``, its mirror), as ``module:Class``
    # implementing ``backup_drills.adapters.tool.BackupTool``: chosen here, never by the kind's name
    tool: str = "backup_drills.adapters.restic:Restic"
    # the tags of other kinds whose scenarios a job of this kind runs too (borgmatic: borg's)
    also: tuple[str, ...] = ()
    # a job's keys that the drill reads from its host (the tool's ``read_job``, when it probes
    # the host), counted as declared when scenarios are chosen
    from_host: tuple[str, ...] = ()


KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("restic", "restic", "a restic backup of a source into a repository",
         ("source", "repository", "rto")),
    Kind("restic-check", "restic_check", "a scheduled `restic check` of a repository", ("repository",)),
    Kind("rclone-mirror", "rclone_mirror", "an rclone mirror of a source into a bucket",
         ("source", "destination"), tool="backup_drills.adapters.rclone:Rclone"),
    Kind("pg-dump", "postgres", "a PostgreSQL dump (pg_dump)", ("rto", "dump", "dump.database"),
         {"dump.database": "the database the dump holds"}),
    Kind("redis-rdb", "redis", "a Redis RDB snapshot", ("rto", "dump")),
    Kind("clickhouse-backup", "clickhouse", "clickhouse-backup archives kept by tier in an object store",
         ("rto", "dump", "dump.database", ("dump.remote", "dump.tiers")),
         {"dump.database": "the database the dump holds",
          "dump.remote": "its backups are objects by tier (254Carbon: backups/clickhouse/<tier>/)"}),
    Kind("gpg-tar", "gpg_tar", "dated sets of per-component tarballs, encrypted with gpg",
         ("archives", "rto")),
    Kind("restore-test", "restore_test", "the estate's own automated restore test and its results",
         ("results",)),
    Kind("borg", "borg", "a BorgBackup archive of a source into a borg repository",
         ("source", "repository", "rto"), tool="backup_drills.adapters.borg:Borg"),
    Kind("borgmatic", "borgmatic", "a borg job described by the host's own borgmatic configuration",
         ("rto",), tool="backup_drills.adapters.borgmatic:Borgmatic", also=("borg",),
         from_host=("source", "repository", "excludes", "retention", "schedule")),
)}


def missing_needs(kind: Kind, value: Callable[[str], object]) -> str | None:
    """The first requirement of ``kind`` that ``value`` (a dotted key's declared value, None or
    empty when undeclared) leaves unmet, as the inventory error names it; None when all are met."""
    for need in kind.needs:
        keys = (need,) if isinstance(need, str) else need
        if all(_declared(value, key) for key in keys):
            continue
        reason = kind.why.get(keys[0])
        named = " and ".join(f"'{key}'" for key in keys)
        return f"a {kind.name} job needs {named}" + (f", {reason}" if reason else "")
    return None


def _declared(value: Callable[[str], object], key: str) -> bool:
    head, _, rest = key.partition(".")
    found = value(head)
    for part in rest.split(".") if rest else ():
        found = found.get(part) if isinstance(found, dict) else getattr(found, part, None)
    return found is not None and found != {} and found != ()
