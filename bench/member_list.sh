#!/usr/bin/env bash
# The filtered, paginated team list with 1,000,000 memberships across 1,000
# orgs, on SQLite and on PostgreSQL (docs/benchmarks.md). Needs PostgreSQL at
# 127.0.0.1:5432 (user postgres, trust auth), as the tests do; the example
# creates and drops its own database there.
#
#   bench/member_list.sh [OUT_DIR]     # writes sqlite.md and postgres.md
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-target/bench}"
# NICE=-10 (as root) runs the example at a higher priority, so that other
# work on a shared machine takes less from it (the PostgreSQL server keeps
# its own priority).
NICE="${NICE:-0}"
mkdir -p "$OUT"

# SKIP_BUILD=1 uses the binary already in target/release.
[ "${SKIP_BUILD:-0}" = 1 ] || timeout 1800 cargo build --release --example member_list_bench
for engine in sqlite postgres; do
  echo "--- $engine"
  timeout 1800 nice -n "$NICE" target/release/examples/member_list_bench --engine "$engine" | tee "$OUT/$engine.md"
done
