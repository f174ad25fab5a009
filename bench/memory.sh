#!/usr/bin/env bash
# The server's memory and start-up time (docs/benchmarks.md). Loopback only.
#
#   bench/memory.sh            # MEMBERS=2000 WALKS=40 STARTS=5 by default
#
# 1. Start-up time to ready: from spawning `roster serve` until /readyz
#    answers 200, STARTS times on a fresh SQLite data dir (migrations and the
#    bootstrap owner, whose password is hashed) and STARTS times restarting
#    on an existing one; prints the medians.
# 2. Memory: VmRSS of the server idle after start, after creating MEMBERS
#    members through the API, and after listing them in pages of 200, WALKS
#    times over (one walk is every page, following next_cursor); and VmHWM,
#    the peak. Also the time of each page of 200 as curl sees it.
#
# The environment reaches the server, so glibc malloc tunables can be tried:
#   MALLOC_MMAP_THRESHOLD_=1048576 bench/memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."

MEMBERS="${MEMBERS:-2000}"
WALKS="${WALKS:-40}"
STARTS="${STARTS:-5}"
# NICE=-10 (as root) runs the server at a higher priority, so that other
# work on a shared machine takes less from the start-up times.
NICE="${NICE:-0}"
EMAIL=bench@example.test
PASSWORD=bench-password-1

# SKIP_BUILD=1 uses the binary already in target/release.
[ "${SKIP_BUILD:-0}" = 1 ] || timeout 1800 cargo build --release --bin roster

WORK="$(mktemp -d)"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_server DATA_DIR: spawns the server, sets SERVER_PID and ADDR, waits
# until /readyz answers 200 and sets READY_MS to the time that took.
start_server() {
  local data="$1" t0 t1
  mkdir -p "$data"
  : >"$data/stderr.log"
  t0="$(date +%s%N)"
  NO_COLOR=1 ROSTER_BOOTSTRAP_ORG=bench ROSTER_BOOTSTRAP_OWNER_EMAIL="$EMAIL" \
    ROSTER_BOOTSTRAP_OWNER_PASSWORD="$PASSWORD" \
    nice -n "$NICE" target/release/roster serve --listen 127.0.0.1:0 --data-dir "$data" \
    >>"$data/stdout.log" 2>"$data/stderr.log" &
  SERVER_PID=$!
  ADDR=""
  local i
  for i in $(seq 1 3000); do
    ADDR="$(grep -o 'roster listening on http://[0-9.:]*' "$data/stderr.log" 2>/dev/null | head -n1 | sed 's|.*http://||' || true)"
    [ -n "$ADDR" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$data/stderr.log" >&2; exit 1; }
    sleep 0.002
  done
  [ -n "$ADDR" ] || { echo "no listening address in the log" >&2; exit 1; }
  for i in $(seq 1 3000); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$ADDR/readyz" || true)" = 200 ]; then
      t1="$(date +%s%N)"
      READY_MS="$(( (t1 - t0) / 1000000 ))"
      return 0
    fi
    sleep 0.002
  done
  echo "the server did not become ready" >&2
  exit 1
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }

echo "load average before: $(cat /proc/loadavg)"
echo "--- start-up time to ready (ms), $STARTS runs each"
COLD=()
WARM=()
for i in $(seq 1 "$STARTS"); do
  start_server "$WORK/start-$i"
  COLD+=("$READY_MS")
  stop_server
  start_server "$WORK/start-$i"
  WARM+=("$READY_MS")
  stop_server
done
echo "fresh data dir (migrations + bootstrap owner): ${COLD[*]}"
echo "existing data dir (restart):                  ${WARM[*]}"
COLD_MEDIAN="$(printf '%s\n' "${COLD[@]}" | median)"
WARM_MEDIAN="$(printf '%s\n' "${WARM[@]}" | median)"

echo "--- memory"
start_server "$WORK/memory"
sleep 2
RSS_IDLE="$(rss_kib)"
echo "idle: VmRSS ${RSS_IDLE} KiB, VmHWM $(hwm_kib) KiB"

TOKEN="$(curl -fsS --max-time 10 -H 'content-type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" \
  "http://$ADDR/api/v1/auth/login" | jq -r .token)"

# Each new member is a new account whose temporary password is hashed
# (argon2id, 19 MiB): 4 requests at a time keep both cores busy.
T0="$(date +%s%N)"
seq 1 "$MEMBERS" | timeout 900 xargs -P 4 -I{} curl -sS -o /dev/null -w '%{http_code}\n' --max-time 60 \
  -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"email":"m{}@bench.test"}' "http://$ADDR/api/v1/orgs/bench/users" >"$WORK/create.codes"
T1="$(date +%s%N)"
CREATED="$(grep -c '^201$' "$WORK/create.codes" || true)"
echo "created $CREATED of $MEMBERS members in $(( (T1 - T0) / 1000000 )) ms"
[ "$CREATED" = "$MEMBERS" ] || { sort "$WORK/create.codes" | uniq -c >&2; exit 1; }
RSS_CREATED="$(rss_kib)"
echo "after creating: VmRSS ${RSS_CREATED} KiB, VmHWM $(hwm_kib) KiB"

# One walk follows next_cursor through every page. curl's time_total of
# each page is kept: the loop's own time is mostly curl and jq starting.
PAGES=0
: >"$WORK/page.times"
for w in $(seq 1 "$WALKS"); do
  CURSOR=""
  ROWS=0
  for p in $(seq 1 100); do
    URL="http://$ADDR/api/v1/orgs/bench/users?limit=200"
    [ -n "$CURSOR" ] && URL="$URL&cursor=$CURSOR"
    OUT="$(curl -fsS --max-time 10 -w '\n%{time_total}' -H "authorization: Bearer $TOKEN" "$URL")"
    echo "${OUT##*$'\n'}" >>"$WORK/page.times"
    read -r N CURSOR < <(echo "${OUT%$'\n'*}" | jq -r '"\(.items | length) \(.next_cursor // "")"')
    PAGES=$((PAGES + 1))
    ROWS=$((ROWS + N))
    [ -n "$CURSOR" ] || break
  done
done
PAGE_MEDIAN_MS="$(awk '{ print $1 * 1000 }' "$WORK/page.times" | median)"
PAGE_P99_MS="$(awk '{ print $1 * 1000 }' "$WORK/page.times" | sort -n | awk '{ a[NR] = $1 } END { r = int(NR * 0.99 + 0.999); print a[r] }')"
echo "listed $ROWS members per walk, $WALKS walks, $PAGES pages of up to 200; per page (curl time_total): median ${PAGE_MEDIAN_MS} ms, p99 ${PAGE_P99_MS} ms"
RSS_LISTED="$(rss_kib)"
HWM="$(hwm_kib)"
echo "after listing: VmRSS ${RSS_LISTED} KiB, VmHWM ${HWM} KiB"
stop_server
echo "load average after: $(cat /proc/loadavg)"

echo "---"
echo "startup_ready_ms_fresh_median=$COLD_MEDIAN"
echo "startup_ready_ms_restart_median=$WARM_MEDIAN"
echo "rss_idle_kib=$RSS_IDLE"
echo "rss_after_create_kib=$RSS_CREATED"
echo "rss_after_list_kib=$RSS_LISTED"
echo "list_page_200_ms_median=$PAGE_MEDIAN_MS"
echo "list_page_200_ms_p99=$PAGE_P99_MS"
echo "vmhwm_kib=$HWM"
