#!/bin/sh
# Read a plain-format pg_dump as psql reads it, line by line (streamed: dumps are large), and
# refuse what psql would do itself instead of sending it to the server: a backslash meta-command
# anywhere outside quotes (only pg_dump's own "\restrict KEY" / "\unrestrict KEY" lines and the
# "\." that ends a COPY block are allowed), a backslash before a quote inside a string (read
# differently with standard_conforming_strings off), and any COPY other than "COPY ... FROM stdin;"
# alone on its line. Lines of a COPY ... FROM stdin block are data, up to its "\." line: in them
# only the backslash sequences pg_dump writes (\\ \b \f \n \r \t \v \N) are accepted, so a line
# psql would read as SQL after all runs no meta-command.
# Words are split as psql's lexer (psqlscan.l) splits them: a "$" that opens no dollar quote ends
# a word ("$BEGIN" is "$" and BEGIN); only identifiers count towards CREATE FUNCTION ... BEGIN.
# What psql versions read differently is refused: a number run into a word ("1BEGIN", "0x1F"),
# "$1x", and a psql variable (":NAME", which psql replaces with its value, e.g. an empty one).
# A NUL byte is refused first (PostgreSQL text has none; psql drops the rest of its 1 KiB
# chunk): a separate tr | cmp pass, as awk may be mawk.
#   scan:   prints "refused<TAB>LINE<TAB>WHY<TAB>TEXT" for each refused line (at most 10; the
#           scan stops at a string it cannot read for sure) and exits 3 if any, and
#           "role<TAB>NAME" for each role the dump gives objects or rights to
#   filter: prints the dump as psql must read it: the same lines, pg_dump's \restrict and
#           \unrestrict lines blank (the drill's psql is in restricted mode already); nothing
#           and exit 3 if the dump holds a NUL byte
#   pg-dump-scan.sh MODE DUMP
set -eu
mode=$1 dump=$2
export LC_ALL=C
[ -r "$dump" ] || { echo "pg-dump-scan: cannot read $dump" >&2; exit 2; }
# shellcheck disable=SC2094  # both only read the dump
if ! differ=$(tr '\000' '\001' <"$dump" | cmp -- "$dump" - 2>&1); then
  line=$(printf '%s\n' "$differ" | sed -n 's/.*differ: .*line \([0-9][0-9]*\)$/\1/p')
  [ -n "$line" ] || { echo "pg-dump-scan: $differ" >&2; exit 2; }
  if [ "$mode" = scan ]; then
    text=$(sed -n "${line}{p;q;}" "$dump" | tr '\000\t' '@ ' | cut -c 1-300)
    printf 'refused\t%s\t%s\t%s\n' "$line" "a NUL byte (shown as @; psql drops what follows it)" "$text"
  fi
  exit 3
fi
# shellcheck disable=SC2016  # the awk program is literal
exec awk -v mode="$mode" '
function refuse(why) {
  refused++
  if (mode == "scan") printf "refused\t%d\t%s\t%s\n", NR, why, substr($0, 1, 300)
  if (refused >= 10) exit 3
}
function role(name) {
  if (name ~ /^"/) { name = substr(name, 2, length(name) - 2); gsub(/""/, "\"", name) }
  if (mode == "scan" && name != "PUBLIC" && roles < 1000 && !(name in seen)) {
    seen[name] = 1; roles++; printf "role\t%s\n", name
  }
}
function roles_of(list,    n, parts, k) {
  sub(/ (WITH (GRANT|ADMIN|INHERIT|SET) (OPTION|TRUE|FALSE)|GRANTED BY .*)+$/, "", list)
  n = split(list, parts, ", ")
  for (k = 1; k <= n; k++) role(parts[k])
}
function statement_ends(at_end) {
  if (toupper(stmt) ~ /^[ \t]*COPY[ \t]/) {
    if (at_end && toupper(stmt) ~ /^[ \t]*COPY[ \t][^;]*[ \t]FROM[ \t]+STDIN[ \t]*$/ && toupper(stmt) !~ /PROGRAM/)
      data = 1
    else
      refuse("a COPY other than FROM stdin")
  }
  stmt = ""; words = 0; fn = 0
}
function word(w,    u) {
  # an identifier (psql counts nothing else towards CREATE [OR REPLACE] FUNCTION|PROCEDURE)
  u = toupper(w); words++
  if (words == 1) first = u
  if (words <= 4) {
    if (words == 2 && first == "CREATE" && (u == "FUNCTION" || u == "PROCEDURE")) fn = 1
    if (words == 4 && first == "CREATE" && w2 == "OR" && w3 == "REPLACE" && (u == "FUNCTION" || u == "PROCEDURE")) fn = 1
    if (words == 2) w2 = u
    if (words == 3) w3 = u
  }
  if (fn && depth == 0) {
    if (u == "BEGIN") blk++
    else if (u == "CASE" && blk >= 1) blk++
    else if (u == "END" && blk > 0) blk--
  }
}
function identchar(ch) { return ch ~ /^[A-Za-z0-9_$]$/ || ch > "~" }
function copy_data(    t, k, e, rest) {
  # a COPY data line holds only the backslash sequences pg_dump writes; \f and \t are also psql
  # meta-commands that read an argument, where a backquote runs a program: none in it
  t = $0
  while ((k = index(t, "\\")) > 0) {
    e = substr(t, k + 1, 1)
    if (e !~ /^[\\bfnrtvN]$/) { refuse("a backslash sequence pg_dump does not write in COPY data"); return }
    rest = substr(t, k + 2); sub(/^[ \t\r\f\v]+/, "", rest); match(rest, /^[^ \t\r\f\v]*/)
    if ((e == "f" || e == "t") && !identchar(substr(t, k + 2, 1)) && index(rest, "`") && \
        substr(rest, 1, RLENGTH) ~ /[`"\047]/) {
      refuse("a backquote after \\" e " in COPY data (psql would run it if it read the line as SQL)"); return
    }
    t = substr(t, k + 2)
  }
}
BEGIN { st = "n"; depth = 0; blk = 0; data = 0; stmt = ""; words = 0; fn = 0 }
data == 1 {
  if ($0 == "\\." || $0 == "\\.\r") data = 0
  else if (index($0, "\\")) copy_data()
  if (mode == "filter") print
  next
}
{
  line = $0; n = length(line); i = 1
  clean = (st == "n" && depth == 0 && blk == 0 && stmt ~ /^[ \t]*$/)
  if (clean && line ~ /^\\(un)?restrict [A-Za-z0-9]+\r?$/) {
    if (mode == "filter") print ""
    next
  }
  if (clean && mode == "scan") {
    if (line ~ /^ALTER .* OWNER TO [^;]+;$/) { r = line; sub(/^.* OWNER TO /, "", r); sub(/;$/, "", r); role(r) }
    else if (line ~ /^GRANT .* TO [^;]+;$/) { r = line; sub(/^.* TO /, "", r); sub(/;$/, "", r); roles_of(r) }
    else if (line ~ /^REVOKE .* FROM [^;]+;$/) { r = line; sub(/^.* FROM /, "", r); sub(/;$/, "", r); roles_of(r) }
  }
  while (i <= n) {
    c = substr(line, i, 1)
    if (st == "n") {
      if (c == "$") {
        # $tag$ opens a dollar quote, $1 is a parameter, any other "$" is a token of its own
        j = i + 1; d = substr(line, j, 1)
        if (d ~ /^[A-Za-z_]$/ || d > "~") { j++; while (j <= n && ((d = substr(line, j, 1)) ~ /^[A-Za-z0-9_]$/ || d > "~")) j++ }
        if (substr(line, j, 1) == "$") { tag = substr(line, i, j - i + 1); st = "dq"; i = j + 1; stmt = stmt " "; continue }
        if (substr(line, i + 1, 1) ~ /^[0-9]$/) {
          j = i + 1; while (j <= n && substr(line, j, 1) ~ /^[0-9]$/) j++
          if (identchar(substr(line, j, 1))) { refuse("a parameter run into a word (psql versions read it differently)"); break }
          stmt = stmt substr(line, i, j - i); i = j; continue
        }
        stmt = stmt c; i++; continue
      }
      if (c ~ /^[A-Za-z_]$/ || c > "~") {
        j = i + 1; while (j <= n && identchar(substr(line, j, 1))) j++
        w = substr(line, i, j - i); i = j
        # E, B, X, N before a quote and U& before a quote or double quote are no identifiers
        if (!(w ~ /^[EeBbXxNn]$/ && substr(line, i, 1) == "\047") && \
            !(w ~ /^[Uu]$/ && substr(line, i, 2) ~ /^&["\047]$/)) word(w)
        if (length(stmt) < 4096) stmt = stmt w
        continue
      }
      if (c ~ /^[0-9]$/ || (c == "." && substr(line, i + 1, 1) ~ /^[0-9]$/)) {
        match(substr(line, i), /^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?/); j = i + RLENGTH
        d = substr(line, j, 1)
        if (d != "$" && identchar(d)) { refuse("a number run into a word (psql versions read it differently)"); break }
        if (length(stmt) < 4096) stmt = stmt substr(line, i, j - i)
        i = j; continue
      }
      if (c == ":") {
        if (substr(line, i + 1, 1) == ":") { stmt = stmt "::"; i += 2; continue }
        # :NAME, :"NAME", :{?NAME} and NAME in quotes: psql puts in its variable (all in capitals)
        v = substr(line, i + 1); sub(/^(["\047]|\{\?)/, "", v); match(v, /^[A-Za-z0-9_]*/)
        if (substr(v, 1, RLENGTH) ~ /^[A-Z_][A-Z0-9_]*$/ && !identchar(substr(v, RLENGTH + 1, 1)) || \
            substr(line, i + 1, 2) == "{?") {
          refuse("a psql variable"); break
        }
      }
      if (c == "\\") { refuse("a psql meta-command"); break }
      if (c == "-" && substr(line, i + 1, 1) == "-") break
      if (c == "/" && substr(line, i + 1, 1) == "*") { st = "c"; nest = 1; i += 2; stmt = stmt " "; continue }
      if (c == "\047") { st = "q"; i++; stmt = stmt " "; continue }
      if (c == "\"") { st = "d"; i++; stmt = stmt " "; continue }
      if (c == "(") depth++
      else if (c == ")" && depth > 0) depth--
      if (c == ";" && depth == 0 && blk == 0) {
        statement_ends(substr(line, i + 1) ~ /^[ \t\r]*$/); i++
        if (data) break
        continue
      }
      if (length(stmt) < 4096) stmt = stmt c
      i++
    } else if (st == "q") {
      if (c == "\\" && substr(line, i + 1, 1) == "\047") { refuse("a backslash before a quote in a string"); exit 3 }
      if (c == "\047") { if (substr(line, i + 1, 1) == "\047") i += 2; else { st = "n"; i++ } } else i++
    } else if (st == "d") {
      if (c == "\"") { if (substr(line, i + 1, 1) == "\"") i += 2; else { st = "n"; i++ } } else i++
    } else if (st == "c") {
      if (c == "/" && substr(line, i + 1, 1) == "*") { nest++; i += 2 }
      else if (c == "*" && substr(line, i + 1, 1) == "/") { nest--; i += 2; if (nest == 0) st = "n" }
      else i++
    } else {
      k = index(substr(line, i), tag)
      if (k == 0) i = n + 1; else { i += k - 1 + length(tag); st = "n" }
    }
  }
  stmt = stmt " "
  if (mode == "filter") print
}
END { if (refused) exit 3 }
' "$dump"
