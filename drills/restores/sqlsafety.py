"""What a database drill accepts from a backup before any of it reaches a server or a shell.

Backup content is hostile: whoever can write a dump can write SQL. ClickHouse names read from a
backup (tables from ``metadata/<db>/<table>.sql``, parts from ``shadow/<db>/<table>/<part>/``)
must match ClickHouse's grammar before they are put, quoted, into SQL; a metadata file must hold
exactly one ``ATTACH TABLE`` or ``CREATE TABLE`` of that table, on an engine that reads nothing
but its own parts. A plain PostgreSQL dump is scanned on the host by ``scripts/pg-dump-scan.sh``
(psql meta-commands and any ``COPY`` other than ``FROM stdin`` refused); psql's own ``\\restrict``
mode is used where the host's psql has it.

    >>> is_part_name("202609_2_2_0"), is_part_name("x';SYSTEM SHUTDOWN;--")
    (True, False)
    >>> metadata_problems("CREATE TABLE analytics.t (x UInt8) ENGINE = MergeTree ORDER BY x",
    ...                   "analytics", "t")
    []
    >>> metadata_problems("SELECT 1 INTO OUTFILE '/tmp/x'", "analytics", "t")[0]
    "line 1: SELECT 1 INTO OUTFILE '/tmp/x': expected ATTACH TABLE or CREATE TABLE, found SELECT"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # ClickHouse's bare identifier
PART_NAME = re.compile(r"[A-Za-z0-9-]+(_[0-9]+){3,4}")  # partition_min_max_level[_mutation]
SHOWN = 200  # characters of a hostile line a message shows

# engines that read and write nothing but the table's own files in the server's data path
ENGINE = re.compile(r"(Replicated)?(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing|"
                    r"Graphite)?MergeTree|Log|TinyLog|StripeLog|Memory|Null|Set|Join")
# table functions, scalar functions and engines that reach files, the network or programs
REACHING = frozenset(name.lower() for name in (
    "url", "urlCluster", "file", "fileCluster", "s3", "s3Cluster", "gcs", "oss", "cosn", "hdfs",
    "hdfsCluster", "mysql", "postgresql", "mongodb", "redis", "sqlite", "odbc", "jdbc", "remote",
    "remoteSecure", "cluster", "clusterAllReplicas", "executable", "executablePool", "input",
    "azureBlobStorage", "azureBlobStorageCluster", "deltaLake", "hudi", "iceberg", "dictionary",
    "dictGet", "merge", "view", "loop", "disk", "kafka", "rabbitMQ", "nats", "fileLog",
    "distributed", "buffer", "materializedPostgreSQL", "keeperMap", "embeddedRocksDB",
    "icebergS3", "icebergAzure", "icebergHDFS", "icebergLocal", "icebergCluster", "icebergS3Cluster",
    "deltaLakeAzure", "deltaLakeLocal", "deltaLakeCluster", "hudiCluster", "s3Queue", "azureQueue",
    "arrowFlight", "ytsaurus", "joinGet", "joinGetOrNull", "dictHas", "dictIsIn", "dictGetChildren",
    "dictGetDescendants", "dictGetHierarchy"))
REACHING_PREFIXES = ("dictget",)  # dictGetString, dictGetOrDefault, ...
REFUSED_WORDS = frozenset({"SELECT", "INSERT", "OUTFILE", "INFILE", "SYSTEM", "CLUSTER"})
RESTRICT_SINCE = {17: 6, 16: 10, 15: 14, 14: 19, 13: 22}  # psql \restrict (CVE-2025-8714)


def is_identifier(name: str) -> bool:
    """A bare ClickHouse identifier: ``is_identifier("ticks")``, never ``"t`;--"``."""
    return IDENTIFIER.fullmatch(name) is not None


def is_part_name(name: str) -> bool:
    """A MergeTree part directory's name (``202609_2_2_0``, ``all_1_1_0_3``)."""
    return PART_NAME.fullmatch(name) is not None


def shown(line: str) -> str:
    """A hostile line as a message shows it: one line, printable, at most SHOWN characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in line.strip())
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."


def psql_has_restrict(version: str) -> bool:
    """Whether ``psql --version`` names a psql with ``\\restrict`` (17.6, 16.10, 15.14, 14.19,
    13.22 and later): ``psql_has_restrict("psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)")``."""
    found = re.search(r"\b(\d+)\.(\d+)", version)
    if found is None:
        return False
    major, minor = int(found[1]), int(found[2])
    return major >= 18 or minor >= RESTRICT_SINCE.get(major, 10**6)


@dataclass(frozen=True)
class Token:
    kind: str  # word, quoted (a `name` or "name"), string, number, symbol
    text: str
    line: int


_TOKENS = re.compile(r"""
    (?P<space>\s+) | (?P<comment>--[^\n]*|\#[^\n]*|/\*.*?\*/)
  | (?P<quoted>`(?:[^`\\]|\\.|``)*`|"(?:[^"\\]|\\.|"")*")
  | (?P<string>'(?:[^'\\]|\\.|'')*')
  | (?P<number>[0-9][0-9A-Za-z_.]*) | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<symbol>[();,.=<>!+*/%|:?\[\]{}^@&~-])
""", re.VERBOSE | re.DOTALL)


def tokens(text: str) -> list[Token]:
    """ClickHouse SQL as tokens (comments and spaces dropped); ValueError on anything else
    (an unclosed string, a stray backslash)."""
    found, at, line = [], 0, 1
    while at < len(text):
        match = _TOKENS.match(text, at)
        if match is None:
            raise ValueError(f"line {line}: unexpected {text[at]!r}")
        kind = match.lastgroup or ""
        if kind not in ("space", "comment"):
            found.append(Token(kind, match.group(), line))
        line += match.group().count("\n")
        at = match.end()
    return found


def _name(token: Token) -> str:
    return token.text[1:-1] if token.kind == "quoted" else token.text


def metadata_problems(text: str, database: str, table: str) -> list[str]:
    """Why a metadata file's SQL is refused (empty: accepted): it must be one ``ATTACH TABLE`` or
    ``CREATE TABLE`` of ``database.table`` (or bare ``table``), on an engine of the MergeTree or
    Log family named in its ``ENGINE =`` clause, with no second statement, no SELECT or INTO
    OUTFILE, no ``AS`` another table or table function, no function named in quotes (ClickHouse
    calls `` `url`(...) `` as it calls ``url(...)``), no ``disk = disk(...)`` setting, and no
    table function, function or engine that reaches a file, the network or a program. Each
    problem names its line."""
    lines = text.splitlines() or [""]

    def problem(line: int, why: str) -> str:
        return f"line {line}: {shown(lines[min(line, len(lines)) - 1])}: {why}"

    try:
        found = tokens(text)
    except ValueError as exc:
        number = int(str(exc).split()[1].rstrip(":"))
        return [problem(number, f"not ClickHouse SQL ({str(exc).split(': ', 1)[1]})")]
    if not found:
        return [problem(1, "empty: expected ATTACH TABLE or CREATE TABLE")]
    problems = []
    words = [t.text.upper() if t.kind == "word" else "" for t in found]
    if words[:2] not in (["ATTACH", "TABLE"], ["CREATE", "TABLE"]):
        kind = " ".join(w for w in words[:2] if w) or found[0].text
        return [problem(found[0].line, f"expected ATTACH TABLE or CREATE TABLE, found {kind}")]
    at = 5 if words[2:5] == ["IF", "NOT", "EXISTS"] else 2
    name = found[at:at + 3]
    named: tuple[str, ...]
    if len(name) == 3 and name[1].text == ".":
        named = (_name(name[0]), _name(name[2]))
        wanted: tuple[str, ...] = (database, table)
    else:
        named, wanted = (_name(name[0]),) if name else ("",), (table,)
    if named != wanted:
        problems.append(problem(found[min(at, len(found) - 1)].line,
                                f"creates {'.'.join(named)}, not {database}.{table}"))
    table_at = at + 2 if len(name) == 3 and name[1].text == "." else at
    depth, engines = 0, 0
    for index, token in enumerate(found):
        after = found[index + 1] if index + 1 < len(found) else None
        depth += {"(": 1, ")": -1}.get(token.text, 0) if token.kind == "symbol" else 0
        calls = after is not None and after.text == "("
        if token.kind == "quoted" and calls and index != table_at:
            # ClickHouse takes `url`(...) and "file"(...) as the function or table function
            problems.append(problem(token.line, f"{token.text}(...): a function named in quotes"))
        elif words[index] == "AS" and depth == 0:
            problems.append(problem(token.line, "CREATE TABLE ... AS another table or a table "
                                                "function: expected its columns and an ENGINE"))
        elif words[index] == "DISK" and after is not None and after.text == "=" and \
                index + 3 < len(found) and found[index + 3].text == "(":
            problems.append(problem(token.line, "SETTINGS disk = a disk made on the fly"))
        if token.text == ";" and any(t.text != ";" for t in found[index + 1:]):
            problems.append(problem(token.line, "a second statement"))
        elif words[index] in REFUSED_WORDS:
            problems.append(problem(token.line, f"{words[index]} in a table's metadata"))
        elif token.kind == "word" and calls and (token.text.lower() in REACHING or
                                                 token.text.lower().startswith(REACHING_PREFIXES)):
            problems.append(problem(token.line, f"{token.text}(...) reaches beyond the scratch server"))
        elif words[index] == "ENGINE" and after is not None and after.text == "=":
            engines += 1
            engine = found[index + 2] if index + 2 < len(found) else None
            if engine is None or ENGINE.fullmatch(engine.text) is None:
                problems.append(problem(token.line, f"engine {engine.text if engine else '(none)'}: "
                                        "expected one of the MergeTree or Log family"))
    if engines == 0:
        problems.append(problem(found[-1].line, "no ENGINE = clause: expected one of the MergeTree "
                                                "or Log family"))
    return list(dict.fromkeys(problems))
