#!/usr/bin/env bash
# What metrics and the access log cost the check API over HTTP: two servers
# of the same build in the same run, one with metrics on and the access log
# at info (written to a file, as a journal would take it), one with
# ROSTER_METRICS=false and the access log filtered out; wrk asks each the
# same single check in alternating rounds (docs/benchmarks.md).
#
#   bench/observability.sh              # DURATION=10 s per run, ROUNDS=3
#   SKIP_BUILD=1 BIN=target/debug/roster bench/observability.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
BIN="${BIN:-target/release/roster}"
EMAIL=bench@example.test
PASSWORD=bench-password-1

command -v wrk >/dev/null 2>&1 || apt-get install -y -q wrk >/dev/null
command -v jq >/dev/null 2>&1 || apt-get install -y -q jq >/dev/null
[ "${SKIP_BUILD:-0}" = 1 ] || timeout 1800 cargo build --release --bin roster

WORK="$(mktemp -d)"
# start() runs in $(...), a subshell: each server's pid goes to a file.
cleanup() {
  for f in "$WORK"/*/pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"; kill "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

start() { # NAME METRICS RUST_LOG -> prints host:port
  mkdir -p "$WORK/$1"
  ROSTER_METRICS="$2" RUST_LOG="$3" ROSTER_BOOTSTRAP_ORG=bench ROSTER_BOOTSTRAP_OWNER_EMAIL="$EMAIL" \
    ROSTER_BOOTSTRAP_OWNER_PASSWORD="$PASSWORD" \
    "$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/$1" >"$WORK/$1/stdout.log" 2>"$WORK/$1/stderr.log" &
  echo "$!" >"$WORK/$1/pid"
  await_roster "$WORK/$1/stderr.log" "$!"
}

prepare() { # ADDR -> prints a service account's token
  local base="http://$1/api/v1" token
  api() { curl -fsS -X "$1" -H 'content-type: application/json' ${T:+-H "authorization: Bearer $T"} ${3:+-d "$3"} "$base$2"; }
  T="$(api POST /auth/login "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | jq -r .token)"
  api POST /orgs/bench/roles '{"name":"devops","permissions":["clusters:*","environments:*"]}' >/dev/null
  api POST /orgs/bench/groups '{"name":"dev"}' >/dev/null
  local member; member="$(api POST /orgs/bench/users '{"email":"dwight@example.test","role":"viewer"}' | jq -r .user.id)"
  api POST /orgs/bench/groups/dev/members "{\"user_id\":$member}" >/dev/null
  api POST /orgs/bench/resources '{"key":"projects/payments"}' >/dev/null
  api POST /orgs/bench/resources '{"key":"clusters/eu-1","parent":"projects/payments","groups":["dev"]}' >/dev/null
  api POST /orgs/bench/access-rules '{"group":"dev","role":"devops","resource":"projects/payments"}' >/dev/null
  local sa; sa="$(api POST /orgs/bench/service-accounts '{"name":"platform","role":"viewer"}' | jq -r .id)"
  api POST "/orgs/bench/service-accounts/$sa/tokens" '{"name":"checks","permissions":["users:read"]}' | jq -r .token
}

ON="$(start on true info,sqlx=warn)"
OFF="$(start off false info,sqlx=warn,roster::access=off)"
TOKEN_ON="$(prepare "$ON")"; TOKEN_OFF="$(prepare "$OFF")"
echo '{"user":"dwight@example.test","action":"clusters:update","resource":"clusters/eu-1"}' >"$WORK/check.json"

run() { # ADDR TOKEN
  local out
  out="$(TOKEN="$2" BODY_FILE="$WORK/check.json" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/check.lua "http://$1/api/v1/orgs/bench/check")"
  echo "$out" >&2
  if echo "$out" | grep -q 'Non-2xx'; then echo "non-2xx answers; not a rate" >&2; return 1; fi
  echo "$out" | sed -n 's/^Requests\/sec: *//p'
}

WITH=(); WITHOUT=()
echo "load average before: $(cat /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  echo "--- round $r: metrics and access log on"; WITH+=("$(run "$ON" "$TOKEN_ON")")
  echo "--- round $r: both off"; WITHOUT+=("$(run "$OFF" "$TOKEN_OFF")")
done
mean() { printf '%s\n' "$@" | awk '{ t += $1 } END { printf "%.0f", t / NR }'; }
W="$(mean "${WITH[@]}")"; O="$(mean "${WITHOUT[@]}")"
echo "---"
echo "with_per_second: ${WITH[*]}"
echo "without_per_second: ${WITHOUT[*]}"
echo "checks_per_second_with=$W"
echo "checks_per_second_without=$O"
echo "with_over_without_ratio=$(awk -v w="$W" -v o="$O" 'BEGIN { printf "%.3f", w / o }')"
echo "access_log_lines=$(grep -c 'roster::access' "$WORK/on/stderr.log" || true)"
curl -fsS "http://$ON/metrics" | grep -E '^roster_checks_total' || true
echo "load average after: $(cat /proc/loadavg)"
