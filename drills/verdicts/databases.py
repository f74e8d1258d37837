"""Verdicts on database restores: the restored data against the source at dump time.

    >>> verdict = data_matches_dump_time(PostgresDrill(remote, job).restore())   # doctest: +SKIP
    >>> verdict.message.splitlines()[1]                                           # doctest: +SKIP
    '  app.orders: 0 rows restored, 6000 at dump time'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from backup_drills.adapters.object_dumps import dump_remote_of
from backup_drills.adapters.readings import DUMP_TIERS
from backup_drills.core.clock import from_the_future
from backup_drills.core.durations import human, human_seconds
from backup_drills.core.retention import Policy, Stamp, missing, outliving
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.restores.databases import DatabaseRestore
from backup_drills.verdicts.verdict import Verdict, restore_evidence, who


def data_matches_dump_time(restored: DatabaseRestore) -> Verdict:
    """PostgreSQL: every table of the manifest with its row count and checksum; Redis: the key
    count and digest. Without a manifest, the restore must at least hold data."""
    head = f"{who(restored.host, restored.job)}: {restored.what} from {restored.origin}"
    if restored.keys is not None:
        return _redis(restored, head)
    problems = []
    for name, want in sorted(restored.expected.items()):
        got = restored.tables.get(name)
        if got is None:
            problems.append(f"{name}: missing from the restore ({want.get('rows')} rows at dump time)")
        elif got.rows != want.get("rows"):
            problems.append(f"{name}: {got.rows} rows restored, {want.get('rows')} at dump time")
        elif got.checksum != want.get("checksum", want.get("md5")):
            problems.append(f"{name}: {got.rows} rows, but their content checksum differs from "
                            "the one at dump time")
    if not restored.expected:
        problems += [] if any(t.rows for t in restored.tables.values()) else ["no rows restored"]
    summary = f"{len(restored.tables)} tables, {sum(t.rows for t in restored.tables.values())} rows"
    return Verdict(not problems, f"{head}: {summary}" + "".join(f"\n  {p}" for p in problems),
                   restore_evidence(restored))


def _redis(restored: DatabaseRestore, head: str) -> Verdict:
    want_keys, want_digest = restored.expected.get("keys"), restored.expected.get("digest")
    problems = []
    if want_keys is not None and restored.keys != want_keys:
        problems.append(f"{restored.keys} keys restored, {want_keys} at dump time")
    if want_digest is not None and restored.digest != want_digest:
        problems.append(f"dataset digest {restored.digest} differs from {want_digest} at dump time")
    if not restored.expected and not restored.keys:
        problems.append("no keys restored")
    return Verdict(not problems, f"{head}: {restored.keys} keys loaded"
                   + "".join(f"\n  {p}" for p in problems), restore_evidence(restored))


def smoke_queries_pass(restored: DatabaseRestore, tables: tuple[str, ...]) -> Verdict:
    """Each smoke query returned a true first value; each expected table is there."""
    problems = [f"`{s.query}` returned {s.output!r}" for s in restored.smoke if not s.ok]
    problems += [f"expected table {t} is missing" for t in tables if t not in restored.tables]
    passed = len(restored.smoke) + len(tables) - len(problems)
    return Verdict(not problems, f"{who(restored.host, restored.job)}: {restored.what}: "
                   f"{passed} of {len(restored.smoke) + len(tables)} smoke checks passed"
                   + "".join(f"\n  {p}" for p in problems),
                   {"smoke": [vars(s) for s in restored.smoke], "expected_tables": list(tables)})


def canary_row_back(restored: DatabaseRestore, table: str | None) -> Verdict:
    return Verdict(restored.canary_rows == 1,
                   f"{who(restored.host, restored.job)}: canary {restored.canary} in {table}: "
                   f"{restored.canary_rows or 0} row(s) in the dump of the on-demand backup "
                   f"({restored.origin}), expected 1")


@dataclass
class TierRestores:
    """The newest dump of every tier, each restored into its own scratch ``server``."""

    job: Job
    host: str
    restores: list[DatabaseRestore]
    server: str = "PostgreSQL"

    @property
    def drill_seconds(self) -> float:  # the RTO is for one restore: the slowest one
        return max((r.drill_seconds for r in self.restores), default=0.0)

    @property
    def what(self) -> str:
        return f"the slowest tier's dump ({len(self.restores)} tiers)"

    def evidence(self) -> dict[str, object]:
        slowest = max(self.restores, key=lambda r: r.drill_seconds)
        return {**restore_evidence(slowest), "tiers": {r.origin: r.evidence() for r in self.restores}}


def tiers_restore_and_pass_smoke(restored: TierRestores, tables: tuple[str, ...]) -> Verdict:
    """Every tier's newest dump restored with rows (as its manifest counted them, where the
    backup wrote one), its smoke queries passed, tables there."""
    lines, ok = [], True
    for each in restored.restores:
        data, smoke = data_matches_dump_time(each), smoke_queries_pass(each, tables)
        rows = sum(t.rows for t in each.tables.values())
        ok &= data.ok and smoke.ok and rows > 0
        lines.append(f"{each.origin}: {len(each.tables)} tables, {rows} rows; "
                     + smoke.message.split(": ", 2)[-1].replace("\n", "\n  ")
                     + "".join(f"\n    {p.strip()}" for p in data.message.splitlines()[1:]))
    return Verdict(ok, f"{who(restored.host, restored.job)}: newest dump of each tier restored "
                   f"into a scratch {restored.server}:" + "".join(f"\n  {line}" for line in lines),
                   restore_evidence(restored))


def tiers_keep_promise(remote: Remote, job: Job) -> Verdict:
    """Each tier against its count, as restic's keep rules read them (a dump per day, ISO week,
    month or year where history exists; none that the count no longer keeps)."""
    dump = dump_remote_of(job)
    problems, counts = [], {}
    for tier, count in dump.tiers.items():
        found = DUMP_TIERS(remote, job)[tier]
        counts[tier] = len(found)
        stamps = [Stamp(f"{tier}/{d.name}", d.time, "dump") for d in found]
        policy = Policy.model_validate({tier: count})
        problems += [f"{tier}: {p}" for p in missing(stamps, policy)] if stamps else \
            [f"{tier}: no dump at all, the tier keeps {count}"]
        problems += outliving(stamps, policy)
    return Verdict(not problems, f"{who(remote, job)}: dumps under {dump.remote} by tier "
                   f"({', '.join(f'{t} {n} of {dump.tiers[t]}' for t, n in counts.items())}): "
                   f"{len(problems)} violation(s)" + "".join(f"\n  {p}" for p in problems),
                   {"dumps_by_tier": counts})


def newest_dump_fresh(remote: Remote, job: Job) -> Verdict:
    dump = dump_remote_of(job)
    found = [d for tier in dump.tiers for d in DUMP_TIERS(remote, job)[tier]]
    newest = max(found, key=lambda d: d.time, default=None)
    age = None if newest is None else (datetime.now(UTC) - newest.time).total_seconds()
    rpo = job.rpo.total_seconds()
    future = from_the_future(remote, newest.time if newest else None)
    shown = "none" if newest is None else \
        f"{newest.url}, {future or f'{human_seconds(age or 0)} old'}"
    return Verdict(age is not None and age <= rpo and future is None,
                   f"{who(remote, job)}: newest dump: {shown}, RPO {human(job.rpo)}",
                   {"snapshot_age_seconds": age, "rpo_seconds": rpo,
                    "sources": {"snapshot_age_seconds": f"dump {shown}"}})
