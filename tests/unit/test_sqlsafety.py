"""What a database drill accepts from a backup: ClickHouse names and metadata (sqlsafety), the
plain-dump scan (drills/scripts/pg-dump-scan.sh, run here by the real sh and awk), and the
sweep of throwaway users a killed run left."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from backup_drills.core.transport import SCRIPTS, Result
from backup_drills.restores import throwaway
from backup_drills.restores.sqlsafety import is_identifier, is_part_name, metadata_problems, psql_has_restrict

LAB_TICKS = ("CREATE TABLE analytics.ticks ( day Date,  ts DateTime,  symbol String,  price Float64,  "
             "volume UInt32) ENGINE = MergeTree PARTITION BY toYYYYMM(day) ORDER BY (symbol, ts) "
             "SETTINGS index_granularity = 8192")


@pytest.mark.parametrize("sql", [
    LAB_TICKS,
    "ATTACH TABLE ticks\n(\n    day Date,\n    `odd name` String DEFAULT 'a;b'\n)\n"
    "ENGINE = MergeTree(day, (day), 8192);\n",
    "CREATE TABLE IF NOT EXISTS `analytics`.`ticks` (x UInt8) ENGINE = ReplacingMergeTree ORDER BY x",
    "-- a comment\nCREATE TABLE analytics.ticks (x UInt8) ENGINE = Log",
    # what the lab's carbon-clickhouse-backup writes: SHOW CREATE TABLE ... FORMAT TSVRaw
    "CREATE TABLE analytics.ticks\n(\n    `day` Date,\n    `ts` DateTime,\n    `symbol` String,\n"
    "    `price` Float64,\n    `volume` UInt32\n)\nENGINE = MergeTree\nPARTITION BY toYYYYMM(day)\n"
    "ORDER BY (symbol, ts)\nSETTINGS index_granularity = 8192",
    "CREATE TABLE analytics.ticks (`x` Decimal(10, 2), y String DEFAULT CAST(x AS String)) "
    "ENGINE = MergeTree ORDER BY x",
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
    # the security review of issue 23: each was accepted
    ("CREATE TABLE analytics.ticks AS `url`('http://169.254.169.254/latest/meta-data/', 'LineAsString', "
     "'x String')", "line 1: CREATE TABLE analytics.ticks AS `url`("),
    ("CREATE TABLE analytics.ticks AS `url`('http://169.254.169.254/latest/meta-data/', 'LineAsString', "
     "'x String')", "`url`(...): a function named in quotes"),
    ("CREATE TABLE analytics.ticks AS `url`('http://169.254.169.254/', 'LineAsString', 'x String')",
     "CREATE TABLE ... AS another table or a table function"),
    ("CREATE TABLE analytics.ticks AS `url`('http://169.254.169.254/', 'LineAsString', 'x String')",
     "no ENGINE = clause"),
    ("CREATE TABLE analytics.ticks (x UInt8, y String DEFAULT `file`('/etc/passwd','RawBLOB')) "
     "ENGINE = MergeTree ORDER BY x", "`file`(...): a function named in quotes"),
    ("CREATE TABLE analytics.ticks (x UInt8, y String ALIAS `executable`('x.sh','TSV','y String')) "
     "ENGINE = MergeTree ORDER BY x", "`executable`(...): a function named in quotes"),
    ("CREATE TABLE analytics.ticks (x UInt8) ENGINE = MergeTree ORDER BY x SETTINGS disk = "
     "`disk`(type = 'local', path = '/etc/')", "SETTINGS disk = a disk made on the fly"),
    ("CREATE TABLE analytics.ticks (x UInt8) ENGINE = MergeTree ORDER BY x SETTINGS disk = "
     "`disk`(type = 'local', path = '/etc/')", "`disk`(...): a function named in quotes"),
    ("CREATE TABLE analytics.ticks AS `merge`('system', '.*')", "`merge`(...): a function named in quotes"),
    ("CREATE TABLE analytics.ticks AS `merge`('system', '.*')", "no ENGINE = clause"),
    # and their kin
    ("CREATE TABLE analytics.ticks AS analytics.instruments", "CREATE TABLE ... AS another table"),
    ("CREATE TABLE analytics.ticks AS \"remote\"('127.0.0.1:9000', system.users)",
     '"remote"(...): a function named in quotes'),
    ("CREATE TABLE analytics.ticks (x UInt8) ENGINE = MergeTree ORDER BY x SETTINGS disk = d(type = s3)",
     "SETTINGS disk = a disk made on the fly"),
    ("CREATE TABLE analytics.ticks (x String DEFAULT dictGetString('d', 'a', 1)) ENGINE = Log",
     "dictGetString(...) reaches beyond the scratch server"),
    ("CREATE TABLE analytics.ticks (x UInt8)", "line 1: CREATE TABLE analytics.ticks (x UInt8): no ENGINE"),
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
1\t\\\\! not a command: data
2\t\\N
3\tall of them: \\\\ \\b \\f \\n \\r \\t \\v `\\tx` é \\t x `y`
\\\\restrict inside data
\\.
SELECT $$ \\! quoted $$, "we\\ird", E'x' /* \\! nested /* comment */ still */; -- \\! comment
SELECT a[1:2], a[1:n], b::integer, 1e+20, .5, 1.5E-3, x$y, $1, $é$ \\! $é$, U&'\\0041', U&"a" FROM t;
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
    assert "\\\\restrict inside data" in filtered


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
    # psql counts identifiers only: CREATE FUNCTION is its first two ($ is a word of its own)
    "1 CREATE FUNCTION f() $BEGIN ;\nCOPY app.notes FROM stdin;",
    "CREATE E'' FUNCTION f() BEGIN ;\nCOPY app.notes FROM stdin;",
    "CREATE U&\"x\" OR REPLACE FUNCTION f() x$y BEGIN ;\nCOPY app.notes FROM stdin;",
    # psql puts its variable in (LAST_ERROR_MESSAGE is empty): the server would start the COPY
    ":LAST_ERROR_MESSAGE COPY app.notes FROM stdin;",
])
def test_a_copy_psql_would_not_send_opens_no_data_block(tmp_path, hiding):
    done = scan(tmp_path, f"{hiding}\n\\! touch /tmp/pwned\n\\.\n")
    assert done.returncode == 3, done
    assert "\\! touch /tmp/pwned" in done.stdout.decode(), done.stdout


@pytest.mark.parametrize("hostile", [
    # pg_dump writes \\ \b \f \n \r \t \v \N in COPY data, never octal, hex or anything else
    "3\t\\! touch /tmp/pwned", "3\t\\x5c! id", "3\t\\134! id", "3\t\\.", "\\.x",
    # a line psql read as SQL after all would run \f or \t with a backquoted argument
    "3\tx\\f `touch /tmp/pwned`", "3\t\\t\t'a b'`id`", "3\t\\f`id`",
])
def test_copy_data_holds_only_what_pg_dump_writes(tmp_path, hostile):
    done = scan(tmp_path, "COPY app.notes (id, body) FROM stdin;\n1\tok \\\\ \\t\n"
                          f"{hostile}\n\\.\nSELECT 1;\n")
    assert done.returncode == 3, done
    refused = [line.split("\t", 3) for line in done.stdout.decode().splitlines()]
    assert [r[:2] for r in refused] == [["refused", "3"]], refused
    assert "COPY data" in refused[0][2], refused


# the security review of issue 23: both scanned clean, and psql without \restrict ran the \!
REVIEWED_BEGIN = """SET standard_conforming_strings = on;
CREATE TABLE t (a int);
CREATE FUNCTION x $BEGIN ;
COPY t FROM stdin;
\\! touch /tmp/rv/out/pwned1
\\.
SELECT 1;
"""


def test_a_dollar_that_opens_no_quote_is_a_word_of_its_own(tmp_path):
    # psql reads "$BEGIN" as "$" and BEGIN: CREATE FUNCTION x is still open at ";"
    done = scan(tmp_path, REVIEWED_BEGIN)
    assert done.returncode == 3, done
    assert done.stdout.decode().splitlines() == [
        "refused\t5\ta psql meta-command\t\\! touch /tmp/rv/out/pwned1",
        "refused\t6\ta psql meta-command\t\\."]


def test_a_nul_byte_is_refused_naming_its_line(tmp_path):
    pre = b"SELECT 1; \x00--"
    dump = tmp_path / "d2.sql"
    dump.write_bytes(b"CREATE TABLE t (a int);\n" + pre + b"x" * (1023 - len(pre)) +
                     b"\\! touch /tmp/rv/out/pwned2\nSELECT 2;\n")
    for mode in ("scan", "filter"):
        done = subprocess.run(["sh", str(SCRIPTS / "pg-dump-scan.sh"), mode, str(dump)],
                              capture_output=True, check=False, timeout=60)
        assert done.returncode == 3, done
    refused = done.stdout  # filter: prints nothing of such a dump
    assert refused == b""
    done = subprocess.run(["sh", str(SCRIPTS / "pg-dump-scan.sh"), "scan", str(dump)],
                          capture_output=True, check=False, timeout=60)
    fields = done.stdout.decode().rstrip("\n").split("\t")
    assert fields[:3] == ["refused", "2", "a NUL byte (shown as @; psql drops what follows it)"], fields
    assert fields[3].startswith("SELECT 1; @--xxx"), fields


@pytest.mark.parametrize(("hostile", "why"), [
    ("CREATE FUNCTION f() AS 1BEGIN;", "a number run into a word (psql versions read it differently)"),
    ("SELECT 0x1F;", "a number run into a word (psql versions read it differently)"),
    ("SELECT $1BEGIN;", "a parameter run into a word (psql versions read it differently)"),
    ("SELECT :LAST_ERROR_MESSAGE 1;", "a psql variable"),
    ("SELECT :'VERSION';", "a psql variable"),
    ("SELECT :{?ERROR};", "a psql variable"),
])
def test_what_psql_versions_or_variables_change_is_refused(tmp_path, hostile, why):
    done = scan(tmp_path, f"SELECT 1;\n{hostile}\n")
    assert done.stdout.decode().splitlines() == [f"refused\t2\t{why}\t{hostile}"], done


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
    host = SimpleNamespace(sudo=True)

    def __init__(self, passwd: str) -> None:
        self.passwd, self.commands = passwd, []

    def run(self, command: str, timeout: float | None = None, privileged: bool = True) -> Result:
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
