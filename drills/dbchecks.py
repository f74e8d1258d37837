"""Verdicts on database restores: the restored data against the source at dump time.

    >>> verdict = data_matches_dump_time(PostgresDrill(remote, job).restore())   # doctest: +SKIP
    >>> verdict.message.splitlines()[1]                                           # doctest: +SKIP
    '  app.orders: 0 rows restored, 6000 at dump time'
"""

from __future__ import annotations

from drills.checks import Verdict, who
from drills.databases import DatabaseRestore


def data_matches_dump_time(restored: DatabaseRestore) -> Verdict:
    """PostgreSQL: every table of the manifest with its row count and checksum; Redis: the key
    count and digest. Without a manifest, the restore must at least hold data."""
    head = f"{who(restored.host, restored.job)}: {restored.what} from snapshot " \
           f"{restored.snapshot.short_id}"
    if restored.keys is not None:
        return _redis(restored, head)
    problems = []
    for name, want in sorted(restored.expected.items()):
        got = restored.tables.get(name)
        if got is None:
            problems.append(f"{name}: missing from the restore ({want.get('rows')} rows at dump time)")
        elif got.rows != want.get("rows"):
            problems.append(f"{name}: {got.rows} rows restored, {want.get('rows')} at dump time")
        elif got.md5 != want.get("md5"):
            problems.append(f"{name}: {got.rows} rows, but their content checksum differs from "
                            "the one at dump time")
    if not restored.expected:
        problems += [] if any(t.rows for t in restored.tables.values()) else ["no rows restored"]
    summary = f"{len(restored.tables)} tables, {sum(t.rows for t in restored.tables.values())} rows"
    return Verdict(not problems, f"{head}: {summary}" + "".join(f"\n  {p}" for p in problems),
                   restored.evidence())


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
                   + "".join(f"\n  {p}" for p in problems), restored.evidence())


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
                   f"(snapshot {restored.snapshot.short_id}), expected 1")
