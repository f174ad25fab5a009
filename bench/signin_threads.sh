#!/usr/bin/env bash
# Where a sign-in's server CPU goes, by thread: the argon2id pool
# (roster-hash-*), tokio's workers (HTTP, JSON, the use case) and SQLite's
# connection threads (sqlx-sqlite-wor*, one per pooled connection), with
# their context switches, over the timed part of one examples/signin_totp
# run against a fresh server (docs/benchmarks.md, "A sign-in's statements").
#
#   bench/signin_threads.sh                  # TOTP sign-ins, 1,000 accounts, 10 s
#   MODE=password ACCOUNTS=100 bench/signin_threads.sh
#   BIN=/tmp/roster.old bench/signin_threads.sh   # another build of the server
#
# Uses the release binaries already built (bench/signin.sh builds them).
# Prints examples/signin_totp's lines, then one line per kind of thread:
# ms of CPU per sign-in, voluntary context switches per sign-in (the
# thread waited: a hand-off) and involuntary ones (it was preempted).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

MODE="${MODE:-totp}"
ACCOUNTS="${ACCOUNTS:-1000}"
SECONDS_="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-16}"
BIN="${BIN:-target/release/roster}"

DATA="$(mktemp -d)"
SERVER_PID=""
LOAD_PID=""
cleanup() {
  for p in "$LOAD_PID" "$SERVER_PID"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
      kill "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
  rm -rf "$DATA"
}
trap cleanup EXIT

NO_COLOR=1 ROSTER_BOOTSTRAP_ORG=bench ROSTER_BOOTSTRAP_OWNER_EMAIL=bench@example.test \
  ROSTER_BOOTSTRAP_OWNER_PASSWORD=bench-password-1 \
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$DATA" >"$DATA/stdout.log" 2>"$DATA/stderr.log" &
SERVER_PID=$!
ADDR="$(await_roster "$DATA/stderr.log" "$SERVER_PID")"

if [ "$MODE" = password ]; then export MODE=password; else unset MODE; fi
SERVER_PID="$SERVER_PID" target/release/examples/signin_totp "http://$ADDR" \
  bench@example.test bench-password-1 bench "$ACCOUNTS" "$SECONDS_" "$CONNECTIONS" \
  >"$DATA/load.out" 2>"$DATA/load.err" &
LOAD_PID=$!

# Per kind of thread (its name without a trailing number): threads, CPU
# ticks, voluntary and involuntary context switches.
snapshot() {
  for t in /proc/"$SERVER_PID"/task/*; do
    printf '%s %s %s\n' \
      "$(tr ' ' _ <"$t/comm" | sed 's/-[0-9]*$//')" \
      "$(sed 's/^.*) //' "$t/stat" | awk '{ print $12 + $13 }')" \
      "$(awk '/^voluntary_ctxt/ { v = $2 } /^nonvoluntary_ctxt/ { n = $2 } END { print v, n }' "$t/status")"
  done | awk '{ k[$1]++; c[$1] += $2; v[$1] += $3; n[$1] += $4 }
              END { for (x in k) print x, k[x], c[x], v[x], n[x] }' | sort
}

until grep -q "running for" "$DATA/load.err" 2>/dev/null; do
  kill -0 "$LOAD_PID" 2>/dev/null || { cat "$DATA/load.err" >&2; exit 1; }
  sleep 0.05
done
snapshot >"$DATA/t0"
wait "$LOAD_PID"
LOAD_PID=""
snapshot >"$DATA/t1"
cat "$DATA/load.out"
SIGNINS="$(awk '/_per_second/ { print $2 }' "$DATA/load.out")"
HZ="$(getconf CLK_TCK)"
# Threads that ended in between (a pooled connection closed) are left out.
join "$DATA/t0" "$DATA/t1" | awk -v rate="$SIGNINS" -v secs="$SECONDS_" -v hz="$HZ" '
  { n = rate * secs; if (n == 0) n = 1
    printf "%-18s threads=%-3s cpu_ms_per_signin=%.3f voluntary_cs_per_signin=%.1f preempted_per_signin=%.1f\n",
      $1, $6, 1000 * ($7 - $3) / hz / n, ($8 - $4) / n, ($9 - $5) / n }'
