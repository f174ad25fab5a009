#!/usr/bin/env bash
# One org of 100,000 members under write churn (issue 15, docs/benchmarks.md).
#
#   bench/bigorg.sh                       # ENGINES="sqlite postgres pg3", DURATION=10
#   ENGINES=sqlite RATES="0 50" bench/bigorg.sh
#
# For each engine: start `roster serve`, seed its bootstrap org with
# 100,000 members, a resource tree of 1,110 resources, 50 groups and 2,050
# rules with set-based SQL (examples/bigorg.rs), restart the server and
# time the first check in the org and its index build; then run
# single checks with wrk for DURATION s while a second process writes 0, 5,
# 20 and 50 changes per second into the org through the API (role changes,
# group joins and leaves, rules granted and revoked). Reports checks/s,
# p50/p99, writes/s achieved, deltas applied, full builds and slices read
# (from /metrics), the server's memory, and per replica its checks/s, p99
# and credential cache resets (metrics are refreshed every 5 s, so the
# counts of a window are approximate). The first check is answered from a
# slice of the org while the index builds; the script then waits for the
# build (a batch check) before the runs. `pg3` is three replicas on one
# PostgreSQL database: wrk spreads over the three, writes go through the
# first. Goals, in the same run: at 50 writes/s, check throughput >= 80% of
# the no-write throughput and p99 <= 2x the no-write p99.
#
# Server, wrk, the writer and PostgreSQL share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION="${DURATION:-10}"
RATES="${RATES:-0 5 20 50}"
ENGINES="${ENGINES:-sqlite postgres pg3}"
CONNECTIONS="${CONNECTIONS:-32}"
PG="${ROSTER_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
EMAIL=bench@example.test
PASSWORD=bench-password-1

command -v wrk >/dev/null 2>&1 || apt-get install -y -q wrk >/dev/null
command -v jq >/dev/null 2>&1 || apt-get install -y -q jq >/dev/null
[ "${SKIP_BUILD:-0}" = 1 ] || timeout 3600 cargo build --release --bin roster --example bigorg

DATA="$(mktemp -d)"
PIDS=()
DBS=()
stop_servers() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_servers
  for db in "${DBS[@]}"; do psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$DATA"
}
trap cleanup EXIT
KEY="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

start() { # N_REPLICAS DIR [DATABASE_URL]: starts the servers, sets ADDRS
  ADDRS=()
  local i
  for i in $(seq 0 $(($1 - 1))); do
    mkdir -p "$2/r$i"
    env NO_COLOR=1 ROSTER_SECRET_KEY="$KEY" ${3:+ROSTER_DATABASE_URL="$3"} ROSTER_BOOTSTRAP_ORG=bench \
      ROSTER_BOOTSTRAP_OWNER_EMAIL="$EMAIL" ROSTER_BOOTSTRAP_OWNER_PASSWORD="$PASSWORD" \
      target/release/roster serve --listen 127.0.0.1:0 --data-dir "$2/r$i" \
      >"$2/r$i/out.log" 2>"$2/r$i/err.$$.$RANDOM.log" &
    PIDS+=($!)
  done
  for i in $(seq 0 $(($1 - 1))); do
    ADDRS+=("$(await_roster "$(ls -t "$2"/r"$i"/err.*.log | head -n1)" "${PIDS[$i]}")")
  done
}

metric() { # ADDR NAME
  curl -fsS "http://$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}
sum_metric() { # NAME: over the running replicas
  local t=0 a
  for a in "${ADDRS[@]}"; do t=$((t + $(metric "$a" "$1"))); done
  echo "$t"
}
memory() { # PID: "VmRSS VmHWM" in MiB
  awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { printf "%.0f %.0f", r / 1024, h / 1024 }' "/proc/$1/status"
}

run_engine() { # NAME
  local name="$1" replicas=1 url="" dir="$DATA/$1"
  mkdir -p "$dir"
  case "$name" in
    sqlite) url="sqlite://$dir/r0/roster.db" ;;
    postgres|pg3)
      local db="roster_bench_bigorg_$$_$name"
      psql "$PG/postgres" -qc "CREATE DATABASE $db" >/dev/null
      DBS+=("$db")
      url="$PG/$db"
      [ "$name" = pg3 ] && replicas=3
      ;;
  esac
  echo "=== $name ($replicas replica(s)); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ "$name" = sqlite ]; then start 1 "$dir"; else start 1 "$dir" "$url"; fi
  stop_servers
  target/release/examples/bigorg seed "$url" bench
  if [ "$name" = sqlite ]; then start "$replicas" "$dir"; else start "$replicas" "$dir" "$url"; fi
  local base="http://${ADDRS[0]}/api/v1"
  api() { curl -fsS -X "$1" -H 'content-type: application/json' ${TOKEN:+-H "authorization: Bearer $TOKEN"} ${3:+-d "$3"} "$base$2"; }
  TOKEN=""
  TOKEN="$(api POST /auth/login "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | jq -r .token)"
  local owner="$TOKEN"
  # Checks are asked as a platform would: a service account's token.
  local sa
  sa="$(api POST /orgs/bench/service-accounts '{"name":"platform","role":"viewer","description":"bench/bigorg.sh"}' | jq -r .id)"
  TOKEN="$(api POST "/orgs/bench/service-accounts/$sa/tokens" '{"name":"checks","permissions":["users:read"]}' | jq -r .token)"
  local checker="$TOKEN"
  echo '{"user":"m50@big.test","action":"clusters:update","resource":"clusters/c0"}' >"$dir/check.json"
  # The first check in the org on each replica starts building its index
  # and is answered from a slice of the org; a batch check waits for the
  # build (index_built_ms counts from the first check), so that the runs
  # below measure the built index.
  echo "{\"checks\":[$(cat "$dir/check.json")]}" >"$dir/batch.json"
  local i
  for i in "${!ADDRS[@]}"; do
    local t0 t b
    t0="$(date +%s%N)"
    t="$(curl -fsS -o "$dir/first.json" -w '%{time_total}' -X POST -H 'content-type: application/json' \
      -H "authorization: Bearer $checker" -d @"$dir/check.json" "http://${ADDRS[$i]}/api/v1/orgs/bench/check")"
    jq -e .allowed "$dir/first.json" >/dev/null || { echo "the check is not allowed: $(cat "$dir/first.json")" >&2; exit 1; }
    curl -fsS -o "$dir/batch-out.json" -X POST -H 'content-type: application/json' \
      -H "authorization: Bearer $checker" -d @"$dir/batch.json" "http://${ADDRS[$i]}/api/v1/orgs/bench/check/batch"
    b="$(( ($(date +%s%N) - t0) / 1000000 ))"
    jq -e '.results[0].allowed' "$dir/batch-out.json" >/dev/null || { echo "the batch check is not allowed: $(cat "$dir/batch-out.json")" >&2; exit 1; }
    echo "first_check_ms_replica_$i=$(awk -v t="$t" 'BEGIN { printf "%.0f", t * 1000 }') index_built_ms=$b memory_mib_rss_hwm=$(memory "${PIDS[$i]}")"
  done
  echo "full_builds_so_far=$(sum_metric roster_authz_full_builds_total) build_ms_so_far=$(sum_metric roster_authz_build_milliseconds_total)"
  local team
  team="$(curl -fsS -o /dev/null -w '%{time_total}' -H "authorization: Bearer $owner" "$base/orgs/bench/users?role=viewer")"
  echo "team_list_page_ms=$(awk -v t="$team" 'BEGIN { printf "%.1f", t * 1000 }') (one request through curl)"

  echo "| engine | writes/s asked | writes/s done | write errors | checks/s | p50 ms | p99 ms | deltas applied | full builds | slices read | RSS / peak MiB | load avg |"
  local rate
  for rate in $RATES; do
    local d0 b0 s0 r0=()
    for i in "${!ADDRS[@]}"; do r0+=("$(metric "${ADDRS[$i]}" roster_credential_cache_resets_total)"); done
    d0="$(sum_metric roster_authz_deltas_applied_total)"
    b0="$(sum_metric roster_authz_full_builds_total)"
    s0="$(sum_metric roster_authz_slice_checks_total)"
    target/release/examples/bigorg write "http://${ADDRS[0]}" "$owner" bench "$rate" "$((DURATION + 1))" >"$dir/write-$rate.txt" 2>"$dir/write-$rate.err" &
    local writer=$!
    sleep 0.5
    local outs=() wrks=()
    for i in "${!ADDRS[@]}"; do
      BODY_FILE="$dir/check.json" TOKEN="$checker" wrk -t1 -c$((CONNECTIONS / replicas)) -d"${DURATION}s" --latency \
        -s bench/check.lua "http://${ADDRS[$i]}/api/v1/orgs/bench/check" >"$dir/wrk-$rate-$i.txt" &
      wrks+=($!)
      outs+=("$dir/wrk-$rate-$i.txt")
    done
    for w in "${wrks[@]}"; do wait "$w"; done
    wait "$writer" || true
    if grep -q 'Non-2xx' "${outs[@]}"; then
      echo "non-2xx answers at $rate writes/s:" >&2; grep -h '^status_' "${outs[@]}" >&2; exit 1
    fi
    local rps p50 p99 w
    rps="$(cat "${outs[@]}" | sed -n 's/^Requests\/sec: *//p' | awk '{ t += $1 } END { printf "%.0f", t }')"
    p50="$(cat "${outs[@]}" | sed -n 's/^latency_p50_ms=//p' | sort -n | tail -n1)"
    p99="$(cat "${outs[@]}" | sed -n 's/^latency_p99_ms=//p' | sort -n | tail -n1)"
    local resets=""
    for i in "${!ADDRS[@]}"; do resets+="$(( $(metric "${ADDRS[$i]}" roster_credential_cache_resets_total) - r0[i] )) "; done
    echo "  per replica: checks/s $(sed -n 's/^Requests\/sec: *//p' "${outs[@]}" | tr '\n' ' ')p99 ms $(sed -n 's/^latency_p99_ms=//p' "${outs[@]}" | tr '\n' ' ')credential cache resets ${resets}"
    w="$(cat "$dir/write-$rate.txt")"
    local done_rate errs
    done_rate="$(echo "$w" | sed -n 's/.*writes_per_second=\([0-9.]*\).*/\1/p')"
    errs="$(echo "$w" | sed -n 's/.*write_errors=\([0-9]*\).*/\1/p')"
    echo "| $name | $rate | ${done_rate:-?} | ${errs:-?} | $rps | $p50 | $p99 | $(( $(sum_metric roster_authz_deltas_applied_total) - d0 )) | $(( $(sum_metric roster_authz_full_builds_total) - b0 )) | $(( $(sum_metric roster_authz_slice_checks_total) - s0 )) | $(memory "${PIDS[0]}" | tr ' ' /) | $(cut -d' ' -f1 /proc/loadavg) |"
    echo "$name rate=$rate checks_per_second=$rps p50_ms=$p50 p99_ms=$p99 $w" >>"$DATA/summary.txt"
    [ -s "$dir/write-$rate.err" ] && head -n3 "$dir/write-$rate.err" >&2
  done
  stop_servers
}

for e in $ENGINES; do run_engine "$e"; done
echo "--- summary"
cat "$DATA/summary.txt"
awk '
  { split($2, r, "="); split($3, c, "="); split($5, p, "="); e = $1
    if (r[2] == 0) { base_c[e] = c[2]; base_p[e] = p[2] }
    if (r[2] == 50 && base_c[e] > 0) printf "%s: at 50 writes/s, %.2fx the no-write throughput (goal >= 0.80), p99 %.2fx (goal <= 2)\n", e, c[2] / base_c[e], p[2] / base_p[e] }
' "$DATA/summary.txt"
echo "load average after: $(cat /proc/loadavg)"
