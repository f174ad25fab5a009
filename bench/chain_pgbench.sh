#!/usr/bin/env bash
# Where the audit chain's cost goes on PostgreSQL (issue 20,
# docs/benchmarks.md §6): pgbench runs one org's change, reduced to its
# lock and its audit event, in five ways, with 8 clients on one org as
# examples/audit_chain_bench.rs does, taking turns for ROUNDS rounds:
#
#   plain            before chains: the lock's UPDATE, an event without seq or hashes
#   columns          the chain's columns written, the head not moved
#   trigger          what Roster does: the insert's trigger moves the head (0019)
#   cte              the head moved in the insert's own statement, no trigger
#   lock_then_write  SELECT ... FOR NO KEY UPDATE, then revision and head in one UPDATE
#
#   bench/chain_pgbench.sh                  # ROUNDS=6, SECONDS_PER_RUN=5
#
# Prints each run's transactions/s and, per variant, the median and its
# ratio to plain's median. Needs pgbench and psql; creates and drops two
# databases.
set -euo pipefail
cd "$(dirname "$0")/chain_pgbench"

ROUNDS="${ROUNDS:-6}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-5}"
PG="${ROSTER_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
PLAIN_DB="roster_chain_plain_$$"
TRIGGER_DB="roster_chain_trigger_$$"
cleanup() {
  for db in "$PLAIN_DB" "$TRIGGER_DB"; do
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

for db in "$PLAIN_DB" "$TRIGGER_DB"; do
  psql "$PG/postgres" -qc "CREATE DATABASE $db"
  psql "$PG/$db" -q -v ON_ERROR_STOP=1 -f schema.sql 2>/dev/null
done
psql "$PG/$TRIGGER_DB" -qc "CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events
  FOR EACH ROW WHEN (NEW.seq IS NOT NULL) EXECUTE FUNCTION head_trg()"

VARIANTS="plain columns trigger cte lock_then_write"
RESULTS="$(mktemp)"
trap 'rm -f "$RESULTS"; cleanup' EXIT
for round in $(seq 1 "$ROUNDS"); do
  for v in $VARIANTS; do
    db="$PLAIN_DB"
    [ "$v" = trigger ] && db="$TRIGGER_DB"
    tps="$(timeout $((SECONDS_PER_RUN + 60)) pgbench -n -M prepared -c 8 -j 2 -T "$SECONDS_PER_RUN" -f "$v.sql" "$PG/$db" 2>/dev/null \
      | sed -n 's/^tps = \([0-9.]*\).*/\1/p')"
    echo "round=$round variant=$v tps=$tps"
    echo "$v $tps" >>"$RESULTS"
  done
done
echo "| variant | median transactions/s | of plain |"
echo "|---|---|---|"
plain="$(awk '$1 == "plain" { print $2 }' "$RESULTS" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')"
for v in $VARIANTS; do
  awk -v v="$v" '$1 == v { print $2 }' "$RESULTS" | sort -n \
    | awk -v v="$v" -v p="$plain" '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "| %s | %.0f | %.1f%% |\n", v, m, 100 * m / p }'
done
