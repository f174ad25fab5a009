#!/usr/bin/env bash
# Several replicas on one PostgreSQL database (docs/benchmarks.md):
# check throughput with one, two and three replicas, and the delay until a
# change made through one replica is enforced by another, over CHANGES
# changes, with what the database does per change.
#
#   bench/replicas.sh                 # DURATION=8 s per load run, CHANGES=1000
#
# Needs PostgreSQL at 127.0.0.1:5432 (user postgres, trust), as the tests
# do; creates and drops its own database. The load for n replicas is n wrk
# processes at once, one per replica, 32 connections in all; replicas, wrk
# and PostgreSQL share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION="${DURATION:-8}"
CHANGES="${CHANGES:-1000}"
PG="${ROSTER_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
DB="roster_bench_replicas_$$"
command -v wrk >/dev/null 2>&1 || apt-get install -y -q wrk >/dev/null
command -v jq >/dev/null 2>&1 || apt-get install -y -q jq >/dev/null
[ "${SKIP_BUILD:-0}" = 1 ] || timeout 1800 cargo build --release --bin roster --example propagation

DATA="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  # KEEP_LOGS=DIR keeps the replicas' logs.
  [ -z "${KEEP_LOGS:-}" ] || { mkdir -p "$KEEP_LOGS"; cp -r "$DATA"/r* "$KEEP_LOGS"/; }
  rm -rf "$DATA"
}
trap cleanup EXIT
psql "$PG/postgres" -qc "CREATE DATABASE $DB" >/dev/null
URL="$PG/$DB"
KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

ADDRS=()
for i in 0 1 2; do
  mkdir -p "$DATA/r$i"
  NO_COLOR=1 ROSTER_DATABASE_URL="$URL" ROSTER_SECRET_KEY="$KEY" ROSTER_BOOTSTRAP_ORG=bench \
    ROSTER_BOOTSTRAP_OWNER_EMAIL=bench@example.test ROSTER_BOOTSTRAP_OWNER_PASSWORD=bench-password-1 \
    target/release/roster serve --listen 127.0.0.1:0 --data-dir "$DATA/r$i" \
    >"$DATA/r$i/out.log" 2>"$DATA/r$i/err.log" &
  PIDS+=($!)
done
for i in 0 1 2; do
  ADDR="$(await_roster "$DATA/r$i/err.log" "${PIDS[$i]}")"
  ADDRS+=("$ADDR")
done
echo "replicas: ${ADDRS[*]}"

# Propagation first, on a quiet system.
echo "--- propagation over $CHANGES changes (through ${ADDRS[0]}, seen by ${ADDRS[1]})"
target/release/examples/propagation "http://${ADDRS[0]}" "http://${ADDRS[1]}" "$URL" "$CHANGES" | tee "$DATA/propagation.txt"

# The check load: one allowed check through a group's rule, as bench/check.sh.
BASE="http://${ADDRS[0]}/api/v1"
TOKEN="$(curl -fsS -H 'content-type: application/json' \
  -d '{"email":"bench@example.test","password":"bench-password-1"}' "$BASE/auth/login" | jq -r .token)"
export TOKEN
api() { curl -fsS -X "$1" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" ${3:+-d "$3"} "$BASE$2" >/dev/null; }
api POST /orgs/bench/groups '{"name":"dev"}'
DWIGHT="$(curl -fsS -H "authorization: Bearer $TOKEN" "$BASE/orgs/bench/users?email=dwight" | jq -r '.items[0].id')"
api POST /orgs/bench/groups/dev/members "{\"user_id\":$DWIGHT}"
api POST /orgs/bench/access-rules '{"group":"dev","role":"contributor","resource":"clusters/eu-1"}'
echo '{"user":"dwight@example.test","action":"clusters:update","resource":"clusters/eu-1"}' >"$DATA/check.json"

for n in 1 2 3; do
  OUTS=()
  WRKS=()
  for i in $(seq 0 $((n - 1))); do
    BODY_FILE="$DATA/check.json" wrk -t1 -c$((32 / n)) -d"${DURATION}s" -s bench/check.lua \
      "http://${ADDRS[$i]}/api/v1/orgs/bench/check" >"$DATA/wrk-$n-$i.txt" &
    WRKS+=($!)
    OUTS+=("$DATA/wrk-$n-$i.txt")
  done
  for w in "${WRKS[@]}"; do wait "$w"; done
  if grep -q 'Non-2xx' "${OUTS[@]}"; then
    echo "non-2xx answers with $n replicas:" >&2; grep -h '^status_' "${OUTS[@]}" >&2; exit 1
  fi
  TOTAL="$(cat "${OUTS[@]}" | sed -n 's/^Requests\/sec: *//p' | awk '{ t += $1 } END { printf "%.0f", t }')"
  echo "checks_per_second_with_${n}_replicas=$TOTAL"
done
echo "load average after: $(cat /proc/loadavg)"
