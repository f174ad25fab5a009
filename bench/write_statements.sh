#!/usr/bin/env bash
# What one write into a 100,000-member org costs PostgreSQL: the statements
# each kind of write runs and the time PostgreSQL spent in them, from
# PostgreSQL's own statement log (docs/benchmarks.md, issue 15).
#
#   bench/write_statements.sh               # 10 writes of each kind
#   ROUNDS=20 bench/write_statements.sh
#   PGLOG=/path/to/postgresql.log bench/write_statements.sh
#
# Seeds the org as bench/bigorg.sh does (examples/bigorg.rs), turns on
# `log_min_duration_statement = 0` for the bench's database only (ALTER
# DATABASE: the server's connections are opened after it), warms the
# server's connections up (prepared statements, plans), then makes the
# writes one at a time, a pause between them, and sums the `duration:`
# lines PostgreSQL logged for the bench database during each (parse, bind
# and execute; BEGIN and COMMIT, whose time is mostly the WAL flush, and
# the outbox worker's polls are left out). Prints, per kind, statements
# executed and milliseconds per write, then the statements of a role
# change by time. Needs the PostgreSQL server log on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS="${ROUNDS:-10}"
PG="${ROSTER_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
PGLOG="${PGLOG:-$(ls -t /var/log/postgresql/postgresql-*-main.log 2>/dev/null | head -1)}"
DB="roster_write_statements_$$"
EMAIL=bench@example.test
PASSWORD=bench-password-1

[ -r "$PGLOG" ] || { echo "PostgreSQL's log is not readable here (PGLOG=$PGLOG)" >&2; exit 1; }
command -v jq >/dev/null 2>&1 || apt-get install -y -q jq >/dev/null
[ "${SKIP_BUILD:-0}" = 1 ] || timeout 3600 cargo build --release --bin roster --example bigorg

DATA="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT
KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

start() {
  env NO_COLOR=1 ROSTER_SECRET_KEY="$KEY" ROSTER_DATABASE_URL="$PG/$DB" ROSTER_BOOTSTRAP_ORG=bench \
    ROSTER_BOOTSTRAP_OWNER_EMAIL="$EMAIL" ROSTER_BOOTSTRAP_OWNER_PASSWORD="$PASSWORD" \
    target/release/roster serve --listen 127.0.0.1:0 --data-dir "$DATA" >"$DATA/stdout.log" 2>"$DATA/stderr.log" &
  SERVER_PID=$!
  ADDR="$(await_roster "$DATA/stderr.log" "$SERVER_PID")"
}
stop() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; : >"$DATA/stderr.log"; }

psql "$PG/postgres" -qc "CREATE DATABASE $DB"
start
stop
target/release/examples/bigorg seed "$PG/$DB" bench >/dev/null
psql "$PG/postgres" -qc "ALTER DATABASE $DB SET log_min_duration_statement = 0"
start

API="http://$ADDR/api/v1/orgs/bench"
TOKEN="$(curl -sS -H 'content-type: application/json' -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" \
  "http://$ADDR/api/v1/auth/login" | jq -r .token)"
# One write; prints its status and leaves the body in $DATA/body.json.
write() { curl -sS -o "$DATA/body.json" -w '%{http_code}' -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "$@"; }
# Member k (users 1,000,000 + k of examples/bigorg.rs).
one() { # KIND K
  local user=$((1000000 + $2))
  case $1 in
    role) write -X PATCH -d '{"role":"contributor"}' "$API/users/$user" ;;
    role_back) write -X PATCH -d '{"role":"viewer"}' "$API/users/$user" ;;
    group_join) write -d "{\"user_id\":$user}" "$API/groups/g-3/members" ;;
    group_leave) write -X DELETE "$API/groups/g-3/members/$user" ;;
    rule_grant) write -d "{\"user\":\"m$2@big.test\",\"role\":\"viewer\",\"resource\":\"clusters/c7\"}" "$API/access-rules" ;;
    rule_revoke) write -X DELETE "$API/access-rules/$(cat "$DATA/rule")" ;;
  esac
  if [ "$1" = rule_grant ]; then jq -r .id "$DATA/body.json" >"$DATA/rule"; fi
}
KINDS="role role_back group_join group_leave rule_grant rule_revoke"
# Warm-up: every connection of the pool prepares its statements.
for k in $(seq 2000 2030); do for kind in $KINDS; do one "$kind" "$k" >/dev/null; done; done

: >"$DATA/lines.txt"
for k in $(seq 3000 $((3000 + ROUNDS - 1))); do
  for kind in $KINDS; do
    sleep 0.3
    before="$(wc -l <"$PGLOG")"
    status="$(one "$kind" "$k")"
    case "$status" in 2??) ;; *) echo "$kind $k answered $status: $(cat "$DATA/body.json")" >&2; exit 1 ;; esac
    sleep 0.2
    tail -n +"$((before + 1))" "$PGLOG" | grep "@$DB " | grep 'duration:' \
      | grep -v 'outbox SET claimed\|statement: BEGIN\|statement: COMMIT' \
      | sed "s/^.*duration: \([0-9.]*\) ms *\([a-z]*\)[^:]*: *\(.\{0,70\}\).*/$kind \1 \2 \3/" >>"$DATA/lines.txt"
  done
done

echo "rounds=$ROUNDS (one write of each kind per round; PostgreSQL $(psql "$PG/postgres" -Atc 'SHOW server_version'))"
echo "| write | statements executed per write | PostgreSQL ms per write (parse + bind + execute) |"
echo "|---|---|---|"
for kind in $KINDS; do
  awk -v k="$kind" -v n="$ROUNDS" '$1 == k { t += $2; if ($3 == "execute" || $3 == "statement") s++ }
    END { printf "| %s | %.1f | %.3f |\n", k, s / n, t / n }' "$DATA/lines.txt"
done
echo
echo "A role change, by statement: ms per write (parse, bind and execute summed), executions per write, the statement:"
awk -v n="$ROUNDS" '$1 == "role" { d = $2; x = ($3 == "execute" || $3 == "statement"); $1 = $2 = $3 = ""; t[$0] += d; e[$0] += x }
  END { for (q in t) printf "%.3f %.1f %s\n", t[q] / n, e[q] / n, q }' "$DATA/lines.txt" | sort -rn
