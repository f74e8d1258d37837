"""What a database drill accepts from a backup: ClickHouse names and metadata (sqlsafety), the
plain-dump scan (drills/scripts/pg-dump-scan.sh, run here by the real sh and awk), and the
sweep of throwaway users a killed run left."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from drills.core.transport import SCRIPTS, Result
from drills.restores import throwaway
from drills.restores.sqlsafety import is_identifier, is_part_name, metadata_problems, psql_has_restrict

LAB_TICKS = ("CREATE TABLE analytics.ticks ( day Date,  ts DateTime,  symbol String,  price Float64,  "
             "volume UInt32) ENGINE = MergeTree PARTITION BY toYYYYMM(day) ORDER BY (symbol, ts) "
             "SETTINGS index_granularity = 8192")


@pytest.mark.parametrize("sql", [
    LAB_TICKS,
    "ATTACH TABLE ticks\n(\n    day Date,\n    `odd name` String DEFAULT 'a;b'\n)\n"
    "ENGINE = MergeTree(day, (day), 8192);\n",
    "CREATE TABLE IF NOT EXISTS `analytics`.`ticks` (x UInt8) ENGINE = ReplacingMergeTree ORDER BY x",
    "-- a comment\nCREATE TABLE analytics.ticks (x UInt8) ENGINE = Log",
])
def test_one_create_or_attach_of_its_table_is_accepted(sql):
    assert metadata_problems(sql, "analytics", "ticks") == []


@pytest.mark.parametrize(("sql", "named"), [
    ("SELECT * FROM analytics.ticks INTO OUTFILE '/tmp/pwned3'",
     "line 1: SELECT * FROM analytics.ticks INTO OUTFILE '/tmp/pwned3': expected ATTACH TABLE or "
     "CREATE TABLE, found SELECT"),
    (LAB_TICKS + ";\nDROP TABLE analytics.instruments", "line 1: CREATE TABLE analytics.ticks"),
    (LAB_TICKS + ";\nDROP TABLE analytics.instruments", "a second statement"),
    ("CREATE TABLE analytics.ticks AS url('http://10.0.0.1/x', CSV, 'x UInt8')",
     "url(...) reaches beyond the scratch server"),
    ("CREATE TABLE analytics.ticks (x UInt8) ENGINE = URL('http://10.0.0.1/', CSV)",
     "engine URL: expected one of the MergeTree or Log family"),
    ("CREATE TABLE analytics.ticks (x String DEFAULT file('/etc/shadow')) ENGINE = Log",
     "file(...) reaches beyond the scratch server"),
    ("CREATE TABLE analytics.ticks ENGINE = Log AS SELECT * FROM system.users",
     "SELECT in a table's metadata"),
    ("CREATE TABLE analytics.other (x UInt8) ENGINE = Log", "creates analytics.other, not analytics.ticks"),
    ("CREATE TABLE analytics.ticks ON CLUSTER c (x UInt8) ENGINE = Log", "CLUSTER in a table's metadata"),
    ("CREATE TABLE analytics.ticks (x String DEFAULT 'unclosed) ENGINE = Log", "not ClickHouse SQL"),
    ("CREATE DATABASE analytics", "expected ATTACH TABLE or CREATE TABLE, found CREATE DATABASE"),
    ("", "empty"),
])
def test_anything_else_is_refused_naming_its_line(sql, named):
    problems = metadata_problems(sql, "analytics", "ticks")
    assert any(named in p for p in problems), problems
    assert all(p.startswith("line ") for p in problems), problems


def test_a_problem_names_the_line_it_is_on():
    sql = "CREATE TABLE analytics.ticks\n(x UInt8)\nENGINE = File(TSV)"
    assert metadata_problems(sql, "analytics", "ticks") == [
        "line 3: ENGINE = File(TSV): engine File: expected one of the MergeTree or Log family",
        "line 3: ENGINE = File(TSV): File(...) reaches beyond the scratch server"]


@pytest.mark.parametrize(("name", "part"), [
    ("202609_2_2_0", True), ("all_1_1_0", True), ("20260901_20260930_1_1_0", True),
    ("c4ca4238a0b923820dcc509a6f75849b_1_1_0_5", True), ("-1_1_1_0", True),
    ("202609_2_2_0');SYSTEM SHUTDOWN;--", False), ("202609_2_2", False), ("..", False),
    ("detached", False), ("202609_2_2_0\n", False), ("", False),
])
def test_part_names_follow_clickhouses_grammar(name, part):
    assert is_part_name(name) is part


@pytest.mark.parametrize(("name", "ok"), [
    ("ticks", True), ("_t1", True), ("1t", False), ("t`;--", False), ("t-1", False), ("", False),
    ("t\n", False), ("tïcks", False),
])
def test_table_names_are_bare_identifiers(name, ok):
    assert is_identifier(name) is ok


@pytest.mark.parametrize(("version", "has"), [
    ("psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", True),
    ("psql (PostgreSQL) 15.13", False), ("psql (PostgreSQL) 15.14", True),
    ("psql (PostgreSQL) 17.5", False), ("psql (PostgreSQL) 17.12 (Debian 17.12-0+deb13u1)", True),
    ("psql (PostgreSQL) 16.10", True), ("psql (PostgreSQL) 13.22", True),
    ("psql (PostgreSQL) 12.22", False), ("psql (PostgreSQL) 18.1", True), ("", False),
])
def test_psql_restrict_is_known_by_version(version, has):
    assert psql_has_restrict(version) is has


# --- the plain-dump scan: the real script, through sh and awk -----------------------------------

HEADER = """--
-- PostgreSQL database dump
--

\\restrict B2whutRSdXbcghcf35EfulFSbNrgPj38Jh3Wx0wDcsVg0J4TjIvLIdgFPmik39s

SET standard_conforming_strings = on;
CREATE SCHEMA app;
ALTER SCHEMA app OWNER TO postgres;
CREATE TABLE app.notes (id integer, body text);
ALTER TABLE app.notes OWNER TO "App Owner";
GRANT SELECT ON TABLE app.notes TO reporting, "read""only" WITH GRANT OPTION;
CREATE FUNCTION app.f() RETURNS text LANGUAGE plpgsql AS $_$
BEGIN RETURN 'a \\! b'; END $_$;
COMMENT ON TABLE app.notes IS 'C:\\temp; /* not a comment */ \\d';
COPY app.notes (id, body) FROM stdin;
1\t\\! not a command: data
2\t\\N
\\restrict inside data
\\.
SELECT $$ \\! quoted $$, "we\\ird", E'x' /* \\! nested /* comment */ still */; -- \\! comment
"""


def scan(tmp_path: Path, text: str, mode: str = "scan") -> subprocess.CompletedProcess[bytes]:
    dump = tmp_path / "dump.sql"
    dump.write_text(text)
    return subprocess.run(["sh", str(SCRIPTS / "pg-dump-scan.sh"), mode, str(dump)],
                          capture_output=True, check=False, timeout=60)


UNRESTRICT = "\\unrestrict B2whutRSdXbcghcf35EfulFSbNrgPj38Jh3Wx0wDcsVg0J4TjIvLIdgFPmik39s\n"


def test_a_dump_as_pg_dump_writes_it_passes_and_names_its_roles(tmp_path):
    done = scan(tmp_path, HEADER + UNRESTRICT)
    assert done.returncode == 0, done
    assert done.stdout.decode().splitlines() == [
        "role\tpostgres", "role\tApp Owner", "role\treporting", 'role\tread"only']


def test_the_filter_blanks_pg_dumps_restrict_lines_only(tmp_path):
    text = HEADER + UNRESTRICT
    done = scan(tmp_path, text, "filter")
    assert done.returncode == 0, done
    given, filtered = text.splitlines(), done.stdout.decode().splitlines()
    assert len(filtered) == len(given)
    changed = [n for n, (a, b) in enumerate(zip(given, filtered, strict=True), 1) if a != b]
    assert changed == [5, len(given)]
    assert filtered[4] == filtered[-1] == ""
    assert "\\restrict inside data" in filtered


@pytest.mark.parametrize(("hostile", "why"), [
    ("\\! touch /tmp/pwned", "a psql meta-command"),
    ("SELECT 1; \\! touch /tmp/pwned", "a psql meta-command"),
    ("\\o | sh", "a psql meta-command"),
    ("\\connect other", "a psql meta-command"),
    ("\\restrict k \\! id", "a psql meta-command"),
    ("COPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned2';", "a COPY other than FROM stdin"),
    ("COPY app.notes FROM PROGRAM 'id';", "a COPY other than FROM stdin"),
    ("COPY app.notes FROM '/etc/shadow';", "a COPY other than FROM stdin"),
    ("COPY app.notes FROM stdin; \\! id", "a psql meta-command"),
    ("SELECT 'a\\'' \\! id;", "a backslash before a quote in a string"),
])
def test_a_hostile_line_is_refused_by_number(tmp_path, hostile, why):
    lines = HEADER.count("\n")
    done = scan(tmp_path, HEADER + hostile + "\nSELECT 1;\n")
    assert done.returncode == 3, done
    refused = [line.split("\t") for line in done.stdout.decode().splitlines() if line.startswith("refused")]
    assert ["refused", str(lines + 1), why, hostile] in refused, refused


@pytest.mark.parametrize("hiding", [
    # psql is still inside CREATE FUNCTION ... BEGIN ATOMIC: the COPY is not sent, no data follows
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;\nCOPY app.notes FROM stdin;",
    "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT 1;\nCOPY app.notes FROM stdin;",
    # inside parentheses psql does not end a statement at ';'
    "SELECT (1;\nCOPY app.notes FROM stdin;",
    # nor inside a string or a comment
    "SELECT '\nCOPY app.notes FROM stdin;\n';",
    "/*\nCOPY app.notes FROM stdin;\n*/",
])
def test_a_copy_psql_would_not_send_opens_no_data_block(tmp_path, hiding):
    done = scan(tmp_path, f"{hiding}\n\\! touch /tmp/pwned\n\\.\n")
    assert done.returncode == 3, done
    assert "\\! touch /tmp/pwned" in done.stdout.decode(), done.stdout


def test_a_long_dump_is_read_in_one_pass(tmp_path):
    rows = "".join(f"{n}\tbody \\\\ {n}\n" for n in range(200_000))
    started = time.monotonic()
    done = scan(tmp_path, f"COPY app.notes (id, body) FROM stdin;\n{rows}\\.\n\\! id\n")
    assert time.monotonic() - started < 20
    assert done.stdout.decode().split("\t")[:2] == ["refused", "200003"], done.stdout[:200]


# --- throwaway users a killed run left ------------------------------------------------------


class Recorded:
    """A stand-in for the host's transport: answers the passwd listing, records the rest."""

    name = "db1"

    def __init__(self, passwd: str) -> None:
        self.passwd, self.commands = passwd, []

    def run(self, command: str, timeout: float | None = None) -> Result:
        self.commands.append(command)
        listing = self.passwd.encode() if "/etc/passwd" in command else b""
        return Result(self.name, command, 0, listing, "", 0.0)


def test_the_sweep_removes_only_leftovers_of_killed_runs():
    now = int(time.time())
    dead = 2**22 + 7  # above any pid this machine hands out
    remote = Recorded("\n".join([
        f"drill-0a1b2c3d4e:drill-{throwaway.RUNNER}-{dead}-{now}-abc123",
        f"drill-1a1b2c3d4e:drill-{throwaway.RUNNER}-{os.getpid()}-{now}-abc123",  # this run's
        f"drill-2a1b2c3d4e:drill-otherrunner-{dead}-{now - 2 * 86400}-abc123",  # a day old
        f"drill-3a1b2c3d4e:drill-otherrunner-{dead}-{now}-abc123",  # another runner's, young
        f"drill-team:drill-{throwaway.RUNNER}-{dead}-{now}-abc123",  # not a throwaway name
    ]))
    assert throwaway.sweep_users(remote) == ["drill-0a1b2c3d4e", "drill-2a1b2c3d4e"]  # type: ignore[arg-type]
    removed = [c for c in remote.commands if "throwaway-user remove" in c]
    assert [c.rsplit(" ", 1)[1] for c in removed] == ["drill-0a1b2c3d4e", "drill-2a1b2c3d4e"]
