#!/usr/bin/env bash
# Sign-in throughput against the raw argon2id verification rate of the same
# machine, in the same run (docs/benchmarks.md). Loopback traffic only.
#
#   bench/signin.sh     # DURATION=15 s per run, ROUNDS=3 (raw, sign-in, raw, ... raw)
#   CONNECTIONS=4 bench/signin.sh        # 4 sign-ins in flight instead of 16
#
# Prints argon2id_verifications_per_second, signins_per_second,
# totp_signins_per_second (password and a TOTP code) and their ratios, and
# the server's CPU per sign-in against argon2_rate's CPU per verification
# (cpu_ratio: the rate the server would keep with the cores to itself),
# and the share of the CPU other work took during each run and during its
# timed part alone. The goal is signin >= 90% of the raw rate: a sign-in
# costs one argon2id verification, and everything else (HTTP, JSON, the
# session row) should be small beside it. The server and the load
# generator share the machine's cores on purpose; that is the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION="${DURATION:-15}"
ROUNDS="${ROUNDS:-3}"
# Sign-ins in flight at once.
CONNECTIONS="${CONNECTIONS:-16}"
# NICE=-10 (as root) runs the server, the load generator and argon2_rate at a higher
# priority, so that other work on a shared machine takes less from them.
NICE="${NICE:-0}"
EMAIL=bench@example.test
PASSWORD=bench-password-1


# SKIP_BUILD=1 uses the binaries already in target/release.
[ "${SKIP_BUILD:-0}" = 1 ] || timeout 1800 cargo build --release --bin roster --example argon2_rate --example signin_totp

DATA="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA"
}
trap cleanup EXIT

# Default log level: the first line names the bound address.
NO_COLOR=1 ROSTER_BOOTSTRAP_ORG=bench ROSTER_BOOTSTRAP_OWNER_EMAIL="$EMAIL" \
  ROSTER_BOOTSTRAP_OWNER_PASSWORD="$PASSWORD" \
  nice -n "$NICE" target/release/roster serve --listen 127.0.0.1:0 --data-dir "$DATA" \
  >"$DATA/stdout.log" 2>"$DATA/stderr.log" &
SERVER_PID=$!

ADDR="$(await_roster "$DATA/stderr.log" "$SERVER_PID")"
echo "server: http://$ADDR (pid $SERVER_PID)"

# One sign-in first: it must answer 200, or the load below measures errors.
STATUS="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 \
  -H 'content-type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" \
  "http://$ADDR/api/v1/auth/login")"
if [ "$STATUS" != 200 ]; then
  echo "a single sign-in answered $STATUS, not 200" >&2
  exit 1
fi

echo "load average before: $(cat /proc/loadavg)"
# Raw rate and sign-in rate alternate, ROUNDS times, starting and ending
# with the raw rate: each sign-in run is compared with the raw runs on
# either side of it, so a machine that is not quiet shows as raw rates that
# disagree rather than as a wrong ratio.
argon2_rate() {
  local out
  out="$(timeout $((DURATION + 60)) nice -n "$NICE" target/release/examples/argon2_rate "$DURATION")"
  echo "$out" >&2
  echo "$out" | sed -n 's/^cpu_ms_per_verification=//p' >>"$DATA/raw_cpu"
  echo "$out" | sed -n 's/^argon2id_verifications_per_second=//p'
}
# Password sign-ins: PASSWORD_ACCOUNTS members, each with its own password
# (set up before the timed part), CONNECTIONS sign-ins in flight, each
# account in turn (examples/signin_totp.rs with MODE=password). Several
# accounts, because concurrent sign-ins of one account from one address
# are throttled like guesses (counted before the password is checked; a
# success clears the count), which is what a throttle must do.
PASSWORD_ACCOUNTS="${PASSWORD_ACCOUNTS:-100}"
# signin_totp's share of the CPU others took / the hypervisor stole over
# its timed part, as "1.1%/0.2%".
timed_share() { sed -n 's/^timed_part_others_percent \([^ ]*\) stolen_percent \(.*\)$/\1%\/\2%/p'; }
signin_rate() {
  local out
  out="$(MODE=password SERVER_PID="$SERVER_PID" timeout $((DURATION + 600)) nice -n "$NICE" target/release/examples/signin_totp \
    "http://$ADDR" "$EMAIL" "$PASSWORD" bench "$PASSWORD_ACCOUNTS" "$DURATION" "$CONNECTIONS")"
  echo "$out" >&2
  if ! echo "$out" | grep -q '^failed_signins 0$'; then
    echo "some sign-ins failed; that is not a sign-in rate" >&2
    return 1
  fi
  echo "$out" | sed -n 's/^server_cpu_ms_per_signin //p' >>"$DATA/signin_cpu"
  echo "$out" | timed_share >>"$DATA/signin_timed"
  echo "$out" | sed -n 's/^password_signins_per_second //p'
}

# Sign-ins with a TOTP second factor: ACCOUNTS members, each with an
# authenticator app enrolled (set up before the timed part), signed in with
# the password and a code computed from the secret (examples/signin_totp.rs).
# A code is accepted once, so each sign-in uses an account and step not
# used before.
# At most two sign-ins per account per 30 s (the current and the next
# step; a code of the previous step sent just before a step ends can reach
# a server that no longer takes it), and fewer for an account whose
# enrolment used the current step: 2,500 accounts cover 15 s at 180
# sign-ins/s, with room (1,000 did not, on a machine verifying 180/s).
TOTP_ACCOUNTS="${TOTP_ACCOUNTS:-2500}"
totp_rate() {
  local out
  out="$(SERVER_PID="$SERVER_PID" timeout $((DURATION + 600)) nice -n "$NICE" target/release/examples/signin_totp \
    "http://$ADDR" "$EMAIL" "$PASSWORD" bench "$TOTP_ACCOUNTS" "$DURATION" "$CONNECTIONS")"
  echo "$out" >&2
  if ! echo "$out" | grep -q '^failed_signins 0$'; then
    echo "some TOTP sign-ins failed; that is not a sign-in rate" >&2
    return 1
  fi
  echo "$out" | sed -n 's/^server_cpu_ms_per_signin //p' >>"$DATA/totp_cpu"
  echo "$out" | timed_share >>"$DATA/totp_timed"
  echo "$out" | sed -n 's/^totp_signins_per_second //p'
}

# Other work on the machine skews both rates. For each run: CPU seconds
# the machine spent busy (/proc/stat) less those of this benchmark (the
# server, and the children this shell waited for: signin_totp, argon2_rate), i.e.
# CPU taken by someone else, and the hypervisor's steal time.
HZ="$(getconf CLK_TCK)"
machine_cpu() { awk -v hz="$HZ" '/^cpu / { printf "%.2f %.2f\n", ($2 + $3 + $4 + $7 + $8) / hz, $9 / hz }' /proc/stat; }
# Sets OWN. Call it directly, not in $(...): `times` must run in this shell.
own_cpu() {
  times >"$DATA/times"
  OWN="$(awk -v hz="$HZ" -v pid="$SERVER_PID" '
    NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } }
    END { getline line < ("/proc/" pid "/stat"); sub(/^.*\) /, "", line); split(line, f, " ");
          printf "%.2f\n", t + (f[12] + f[13]) / hz }' "$DATA/times")"
}
FOREIGN=()
# run_measured VAR FUNCTION: runs it, appends its output to the array VAR
# and the share of the machine's CPU others took meanwhile to FOREIGN.
run_measured() {
  local -n into="$1"
  local m0 o0 m1 o1 st0 st1 out
  read -r m0 st0 < <(machine_cpu); own_cpu; o0="$OWN"
  out="$("$2")"
  read -r m1 st1 < <(machine_cpu); own_cpu; o1="$OWN"
  into+=("$out")
  FOREIGN+=("$(awk -v a="$m0" -v b="$m1" -v c="$o0" -v d="$o1" -v s0="$st0" -v s1="$st1" \
    -v cap="$(( DURATION * $(nproc) ))" 'BEGIN { f = (b - a) - (d - c); if (f < 0) f = 0; printf "%.1f%%/%.1f%%", 100 * f / cap, 100 * (s1 - s0) / cap }')")
}

ARGON2=()
SIGNIN=()
TOTP=()
echo "--- raw argon2id verification rate (${DURATION} s, all cores, server idle)"
run_measured ARGON2 argon2_rate
for r in $(seq 1 "$ROUNDS"); do
  echo "--- round $r: password sign-in, $CONNECTIONS in flight over $PASSWORD_ACCOUNTS accounts, ${DURATION}s"
  run_measured SIGNIN signin_rate
  echo "--- round $r: sign-in with TOTP, $CONNECTIONS in flight, ${DURATION}s"
  run_measured TOTP totp_rate
  echo "--- round $r: raw argon2id verification rate"
  run_measured ARGON2 argon2_rate
done
SERVER_HWM="$(awk '/^VmHWM:/ { print $2 " " $3 }' "/proc/$SERVER_PID/status")"
SERVER_RSS="$(awk '/^VmRSS:/ { print $2 " " $3 }' "/proc/$SERVER_PID/status")"

echo "---"
echo "argon2id_verifications_per_second: ${ARGON2[*]}"
echo "signins_per_second:                ${SIGNIN[*]}"
echo "totp_signins_per_second:           ${TOTP[*]}"
echo "CPU taken by others / stolen, per run in order (raw, sign-in, TOTP sign-in, raw, ...): ${FOREIGN[*]}"
# The same over the timed parts only (signin_totp measures it; the
# figures above also cover each sign-in run's untimed set-up).
echo "CPU taken by others / stolen, timed parts only: sign-in $(tr '\n' ' ' <"$DATA/signin_timed")TOTP sign-in $(tr '\n' ' ' <"$DATA/totp_timed")"
for r in $(seq 1 "$ROUNDS"); do
  awk -v r="$r" -v s="${SIGNIN[$((r - 1))]}" -v t="${TOTP[$((r - 1))]}" -v a="${ARGON2[$((r - 1))]}" -v b="${ARGON2[$r]}" \
    'BEGIN { printf "round %d: signin/argon2 = %.3f, totp_signin/argon2 = %.3f, totp_signin/signin = %.3f\n", r, s / ((a + b) / 2), t / ((a + b) / 2), t / s }'
done
ARGON2_RATE="$(printf '%s\n' "${ARGON2[@]}" | awk '{ t += $1 } END { printf "%.2f", t / NR }')"
SIGNIN_RATE="$(printf '%s\n' "${SIGNIN[@]}" | awk '{ t += $1 } END { printf "%.2f", t / NR }')"
SPREAD="$(printf '%s\n' "${ARGON2[@]}" | awk 'NR == 1 { lo = hi = $1 } { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1; t += $1 } END { printf "%.3f", (hi - lo) / (t / NR) }')"
RATIO="$(awk -v s="$SIGNIN_RATE" -v a="$ARGON2_RATE" 'BEGIN { printf "%.3f", s / a }')"
TOTP_RATE="$(printf '%s\n' "${TOTP[@]}" | awk '{ t += $1 } END { printf "%.2f", t / NR }')"
TOTP_RATIO="$(awk -v s="$TOTP_RATE" -v a="$ARGON2_RATE" 'BEGIN { printf "%.3f", s / a }')"
echo "argon2id_verifications_per_second=$ARGON2_RATE"
echo "signins_per_second=$SIGNIN_RATE"
echo "signin_over_argon2_ratio=$RATIO"
echo "totp_signins_per_second=$TOTP_RATE"
echo "totp_signin_over_argon2_ratio=$TOTP_RATIO"
echo "argon2_rate_spread=$SPREAD"
echo "server_vmhwm_after_load=$SERVER_HWM"
echo "server_vmrss_after_load=$SERVER_RSS"
# What a sign-in costs the server against what a raw verification costs
# argon2_rate, in CPU time: the share of the raw rate the server would
# keep with the cores to itself (the load generator elsewhere, no one else
# on the machine). The rates above count the load generator and every
# other process on the same two cores; these do not.
RAW_CPU="$(awk '{ t += $1 } END { if (NR) printf "%.3f", t / NR }' "$DATA/raw_cpu")"
for kind in signin totp; do
  awk -v raw="$RAW_CPU" -v kind="$kind" '{ t += $1; all = all " " $1 } END {
      if (NR && raw > 0) printf "%s_cpu_ms_per_signin:%s (raw verification %.3f ms); cpu_ratio=%.3f\n", kind, all, raw, raw / (t / NR) }' \
    "$DATA/${kind}_cpu"
done
echo "load average after: $(cat /proc/loadavg)"
if awk -v d="$SPREAD" 'BEGIN { exit !(d > 0.10) }'; then
  echo "warning: the raw rates spread by more than 10% (relative $SPREAD); the machine was not quiet, run again" >&2
fi
