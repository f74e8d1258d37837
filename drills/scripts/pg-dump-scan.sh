#!/bin/sh
# Read a plain-format pg_dump as psql reads it, line by line (streamed: dumps are large), and
# refuse what psql would do itself instead of sending it to the server: a backslash meta-command
# anywhere outside quotes (only pg_dump's own "\restrict KEY" / "\unrestrict KEY" lines and the
# "\." that ends a COPY block are allowed), a backslash before a quote inside a string (read
# differently with standard_conforming_strings off), and any COPY other than "COPY ... FROM stdin;"
# alone on its line. Lines of a COPY ... FROM stdin block are data, up to its "\." line.
#   scan:   prints "refused<TAB>LINE<TAB>WHY<TAB>TEXT" for each refused line (at most 10; the
#           scan stops at a string it cannot read for sure) and exits 3 if any, and
#           "role<TAB>NAME" for each role the dump gives objects or rights to
#   filter: prints the dump as psql must read it: the same lines, pg_dump's \restrict and
#           \unrestrict lines blank (the drill's psql is in restricted mode already)
#   pg-dump-scan.sh MODE DUMP
set -eu
mode=$1 dump=$2
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
BEGIN { st = "n"; depth = 0; blk = 0; data = 0; stmt = ""; words = 0; fn = 0 }
data == 1 {
  if ($0 == "\\." || $0 == "\\.\r") data = 0
  if (mode == "filter") print
  next
}
{
  line = $0; n = length(line); i = 1; w = ""
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
      if (c == "$" && (i == 1 || substr(line, i - 1, 1) ~ /[ \t(),;=]/) && \
          match(substr(line, i), /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/)) {
        tag = substr(line, i, RLENGTH); if (w != "") { word(w); w = "" }; st = "dq"; i += RLENGTH; stmt = stmt " "; continue
      }
      if (c ~ /[A-Za-z0-9_$]/ || c > "~") { w = w c; stmt = stmt c; i++; continue }
      if (w != "") { word(w); w = "" }
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
  if (w != "") word(w)
  stmt = stmt " "
  if (mode == "filter") print
}
END { if (refused) exit 3 }
' "$dump"
