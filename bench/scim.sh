#!/usr/bin/env bash
# Provisioning through SCIM while the check API is called (issue 19,
# docs/benchmarks.md).
#
#   bench/scim.sh                  # USERS=10000 CLIENTS=4, release build
#   USERS=1000 BIN=target/debug/roster SKIP_BUILD=1 bench/scim.sh
#   CHECK_RATE=2000 bench/scim.sh  # checks paced at about 2,000/s
#
# Starts `roster serve` (SQLite, or PostgreSQL with
# ROSTER_BENCH_POSTGRES_URL=postgres://... ENGINE=postgres), makes a SCIM
# token and a service account's token, then runs two wrk processes at once:
# CLIENTS connections (one thread each) POSTing USERS new Users to
# /scim/v2/Users, one request each (userName, name, emails, displayName,
# externalId, active), and single checks (8 connections) against
# /api/v1/orgs/bench/check for as long as the provisioning lasts: as many
# as the server answers, or, with CHECK_RATE, each connection pausing
# after each answer so that together they ask about CHECK_RATE a second
# (a platform's steady traffic rather than a flood). Prints
# users/s (USERS over the wall time of the provisioning wrk), the creation
# p50/p99, and the checks' rate and p50/p99 during the load; then counts
# the Users the SCIM endpoint lists. Goal: >= 300 users/s and check p99
# < 2 ms. Server, both wrk processes (and PostgreSQL) share the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

USERS="${USERS:-10000}"
CLIENTS="${CLIENTS:-4}"
BIN="${BIN:-target/release/roster}"
ENGINE="${ENGINE:-sqlite}"
PG="${ROSTER_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
EMAIL=bench@example.test
PASSWORD=bench-password-1

command -v wrk >/dev/null 2>&1 || apt-get install -y -q wrk >/dev/null
command -v jq >/dev/null 2>&1 || apt-get install -y -q jq >/dev/null
[ "${SKIP_BUILD:-0}" = 1 ] || timeout 3600 cargo build --release --bin roster

DATA="$(mktemp -d)"
SERVER_PID=""
DB=""
ANALYZE_PID=""
cleanup() {
  [ -z "$ANALYZE_PID" ] || kill "$ANALYZE_PID" 2>/dev/null || true
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [ -z "$DB" ] || psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT

URL_ENV=()
if [ "$ENGINE" = postgres ]; then
  DB="roster_bench_scim_$$"
  psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
  URL_ENV=(ROSTER_DATABASE_URL="$PG/$DB")
fi
env NO_COLOR=1 "${URL_ENV[@]}" ROSTER_BOOTSTRAP_ORG=bench ROSTER_BOOTSTRAP_OWNER_EMAIL="$EMAIL" \
  ROSTER_BOOTSTRAP_OWNER_PASSWORD="$PASSWORD" \
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$DATA" \
  >"$DATA/stdout.log" 2>"$DATA/stderr.log" &
SERVER_PID=$!
ADDR="$(await_roster "$DATA/stderr.log" "$SERVER_PID")"
BASE="http://$ADDR/api/v1"

api() { # METHOD PATH [BODY]
  curl -fsS -X "$1" -H 'content-type: application/json' ${TOKEN:+-H "authorization: Bearer $TOKEN"} \
    ${3:+-d "$3"} "$BASE$2"
}
TOKEN="$(api POST /auth/login "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | jq -r .token)"
export TOKEN
SCIM_TOKEN="$(api POST /orgs/bench/scim-tokens '{"name":"bench"}' | jq -r .token)"
case "$SCIM_TOKEN" in rsc_*) ;; *) echo "no SCIM token: $SCIM_TOKEN" >&2; exit 1 ;; esac
MEMBER="$(api POST /orgs/bench/users '{"email":"dwight@example.test","role":"viewer"}' | jq -r .user.id)"
api POST /orgs/bench/resources '{"key":"clusters/eu-1"}' >/dev/null
SA="$(api POST /orgs/bench/service-accounts '{"name":"platform","role":"viewer","description":"bench/scim.sh"}' | jq -r .id)"
CHECK_TOKEN="$(api POST "/orgs/bench/service-accounts/$SA/tokens" '{"name":"checks","permissions":["users:read"]}' | jq -r .token)"
echo '{"user":"dwight@example.test","action":"clusters:read","resource":"clusters/eu-1"}' >"$DATA/check.json"
TOKEN="$CHECK_TOKEN" api POST /orgs/bench/check "$(cat "$DATA/check.json")" | jq -c . >&2
: "$MEMBER"

PER_THREAD=$(( (USERS + CLIENTS - 1) / CLIENTS ))
echo "load average before: $(cat /proc/loadavg)"
# Checks for the whole provisioning: wrk prints its summary on SIGINT.
DELAY_MS=""
[ -z "${CHECK_RATE:-}" ] || DELAY_MS="$(( 8000 / CHECK_RATE ))"
DELAY_MS="$DELAY_MS" BODY_FILE="$DATA/check.json" TOKEN="$CHECK_TOKEN" \
  wrk -t1 -c8 -d3600s --latency -s bench/check.lua "$BASE/orgs/bench/check" >"$DATA/checks.txt" 2>&1 &
CHECK_PID=$!
sleep 1
# PostgreSQL plans a prepared statement from the table statistics it has;
# autovacuum refreshes them as the tables grow (which also makes the
# server's connections plan their statements again). Without it (this
# machine's PostgreSQL runs with autovacuum off) every statement keeps the
# plan it got when the org was empty, and its cost grows with the org. So
# the tables are analysed after the setup and then every ANALYZE_EVERY
# seconds, about what autovacuum does with its defaults for tables
# growing like these.
if [ "$ENGINE" = postgres ]; then
  ANALYZE_EVERY="${ANALYZE_EVERY:-30}"
  psql "$PG/$DB" -qc ANALYZE >/dev/null
  if [ "$(psql "$PG/$DB" -Atc 'SHOW autovacuum')" = off ]; then
    echo "autovacuum is off: ANALYZE every $ANALYZE_EVERY s stands in for it"
    (while sleep "$ANALYZE_EVERY"; do psql "$PG/$DB" -qc ANALYZE >/dev/null 2>&1 || exit 0; done) &
    ANALYZE_PID=$!
  fi
fi
START="$(date +%s.%N)"
TOKEN="$SCIM_TOKEN" PER_THREAD="$PER_THREAD" \
  wrk -t"$CLIENTS" -c"$CLIENTS" -d3600s --latency -s bench/scim.lua "http://$ADDR/scim/v2/Users" >"$DATA/scim.txt" 2>&1 &
SCIM_PID=$!
# A wrk thread that has made its share stops sending but wrk runs on: the
# provisioning is over when each thread's last User exists (found by
# userName, one indexed lookup each).
# Polled twice a second, with curl and grep only: the poll takes little
# from the load it times.
last_made() { # THREAD
  curl -fsS -H "authorization: Bearer $SCIM_TOKEN" \
    "http://$ADDR/scim/v2/Users?count=0&filter=userName%20eq%20%22u$1-$PER_THREAD%40scim.test%22" |
    grep -q '"totalResults":1[,}]'
}
for t in $(seq 0 $((CLIENTS - 1))); do
  until last_made "$t"; do
    kill -0 "$SCIM_PID" 2>/dev/null || { cat "$DATA/scim.txt" >&2; exit 1; }
    sleep 0.5
  done
done
END="$(date +%s.%N)"
kill -INT "$SCIM_PID" "$CHECK_PID"
wait "$SCIM_PID" || true
wait "$CHECK_PID" || true
echo "--- provisioning"; cat "$DATA/scim.txt"
echo "--- checks during provisioning"; cat "$DATA/checks.txt"
MADE="$(sed -n 's/^status_201=//p' "$DATA/scim.txt")"
LISTED="$(curl -fsS -H "authorization: Bearer $SCIM_TOKEN" "http://$ADDR/scim/v2/Users?count=0" | jq .totalResults)"
echo "---"
echo "users_created=${MADE:-0} (SCIM lists $LISTED Users, the owner and dwight included)"
echo "seconds=$(awk -v s="$START" -v e="$END" 'BEGIN { printf "%.2f", e - s }')"
echo "users_per_second=$(awk -v s="$START" -v e="$END" -v n="${MADE:-0}" 'BEGIN { printf "%.0f", n / (e - s) }')"
echo "create_p99_ms=$(sed -n 's/^create_p99_ms=//p' "$DATA/scim.txt")"
echo "checks_per_second=$(sed -n 's/^Requests\/sec: *//p' "$DATA/checks.txt")"
echo "check_p50_ms=$(sed -n 's/^latency_p50_ms=//p' "$DATA/checks.txt")"
echo "check_p99_ms=$(sed -n 's/^latency_p99_ms=//p' "$DATA/checks.txt")"
echo "server_vmhwm=$(awk '/^VmHWM:/ { print $2 " " $3 }' "/proc/$SERVER_PID/status")"
echo "load average after: $(cat /proc/loadavg)"
