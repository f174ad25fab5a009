#!/usr/bin/env bash
# HTTP throughput of the check API next to /healthz on the same server in
# the same run, and batch decisions per second (docs/benchmarks.md).
#
#   bench/check.sh                    # DURATION=10 s per run, ROUNDS=3
#   BATCH=1000 CONNECTIONS=32 bench/check.sh
#
# /healthz does no work: its rate is the ceiling of the HTTP stack on this
# machine. The goal is single checks at >= 70% of it, and batch checks above
# one million decisions per second. The checks are asked with a service
# account's API token (users:read only). Server and wrk share the
# machine's cores, as in the other benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
BATCH="${BATCH:-1000}"
EMAIL=bench@example.test
PASSWORD=bench-password-1

command -v wrk >/dev/null 2>&1 || apt-get install -y -q wrk >/dev/null
command -v jq >/dev/null 2>&1 || apt-get install -y -q jq >/dev/null
[ "${SKIP_BUILD:-0}" = 1 ] || timeout 1800 cargo build --release --bin roster

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

NO_COLOR=1 ROSTER_BOOTSTRAP_ORG=bench ROSTER_BOOTSTRAP_OWNER_EMAIL="$EMAIL" \
  ROSTER_BOOTSTRAP_OWNER_PASSWORD="$PASSWORD" \
  target/release/roster serve --listen 127.0.0.1:0 --data-dir "$DATA" \
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

# A small tree, a group with a member and a custom role on a cluster: the
# check walks the org role, the group's rule up the tree, and a gate.
api POST /orgs/bench/roles '{"name":"devops","permissions":["clusters:*","environments:*"]}' >/dev/null
api POST /orgs/bench/groups '{"name":"dev"}' >/dev/null
MEMBER="$(api POST /orgs/bench/users '{"email":"dwight@example.test","role":"viewer"}' | jq -r .user.id)"
api POST /orgs/bench/groups/dev/members "{\"user_id\":$MEMBER}" >/dev/null
api POST /orgs/bench/resources '{"key":"projects/payments"}' >/dev/null
api POST /orgs/bench/resources '{"key":"environments/prod","parent":"projects/payments"}' >/dev/null
api POST /orgs/bench/resources '{"key":"clusters/eu-1","parent":"environments/prod","groups":["dev"]}' >/dev/null
api POST /orgs/bench/access-rules '{"group":"dev","role":"devops","resource":"projects/payments"}' >/dev/null

# The platform asks as a service account with a token that holds only
# users:read, as a platform would in production: the measured requests
# authenticate with that token, not with the owner's session.
SA="$(api POST /orgs/bench/service-accounts '{"name":"platform","role":"viewer","description":"bench/check.sh"}' | jq -r .id)"
TOKEN="$(api POST "/orgs/bench/service-accounts/$SA/tokens" '{"name":"checks","permissions":["users:read"]}' | jq -r .token)"
case "$TOKEN" in rst_*) ;; *) echo "no service-account token: $TOKEN" >&2; exit 1 ;; esac
export TOKEN

CHECK='{"user":"dwight@example.test","action":"clusters:update","resource":"clusters/eu-1"}'
echo "$CHECK" >"$DATA/check.json"
api POST /orgs/bench/check "$CHECK" | jq -c . >&2
# The batch alternates an allowed and a denied question.
jq -nc --argjson n "$BATCH" '{checks: [range($n) | if . % 2 == 0
  then {user: "dwight@example.test", action: "clusters:update", resource: "clusters/eu-1"}
  else {user: "dwight@example.test", action: "clusters:manage", resource: "clusters/eu-1"} end]}' \
  >"$DATA/batch.json"
echo '{}' >"$DATA/empty.json"

run() { # URL BODY_FILE [METHOD]
  local out
  if [ "${3:-POST}" = GET ]; then
    out="$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1")"
  else
    out="$(BODY_FILE="$2" wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/check.lua "$1")"
  fi
  echo "$out" >&2
  if echo "$out" | grep -q 'Non-2xx'; then echo "non-2xx answers; not a rate" >&2; return 1; fi
  echo "$out" | sed -n 's/^Requests\/sec: *//p'
}

HEALTH=(); CHECKS=(); BATCHES=()
echo "load average before: $(cat /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  echo "--- round $r: /healthz"; HEALTH+=("$(run "http://$ADDR/healthz" "" GET)")
  echo "--- round $r: single check"; CHECKS+=("$(run "$BASE/orgs/bench/check" "$DATA/check.json")")
  echo "--- round $r: batch of $BATCH"; BATCHES+=("$(run "$BASE/orgs/bench/check/batch" "$DATA/batch.json")")
done
echo "---"
echo "healthz_per_second: ${HEALTH[*]}"
echo "checks_per_second:  ${CHECKS[*]}"
echo "batches_per_second: ${BATCHES[*]}"
mean() { printf '%s\n' "$@" | awk '{ t += $1 } END { printf "%.0f", t / NR }'; }
H="$(mean "${HEALTH[@]}")"; C="$(mean "${CHECKS[@]}")"; B="$(mean "${BATCHES[@]}")"
echo "healthz_per_second=$H"
echo "checks_per_second=$C"
echo "check_over_healthz_ratio=$(awk -v c="$C" -v h="$H" 'BEGIN { printf "%.3f", c / h }')"
echo "batch_decisions_per_second=$(awk -v b="$B" -v n="$BATCH" 'BEGIN { printf "%.0f", b * n }')"
echo "server_vmhwm=$(awk '/^VmHWM:/ { print $2 " " $3 }' "/proc/$SERVER_PID/status")"
echo "load average after: $(cat /proc/loadavg)"
