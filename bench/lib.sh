# Shared by the bench scripts: finding a started server's address.
#
# await_roster LOG PID: waits until the server writing stderr to LOG logs
# the address it bound (its first line) and answers /readyz, then prints
# the address (host:port). Fails, showing the log, if the process exits or
# 30 s pass.
await_roster() {
  local log="$1" pid="$2" addr=""
  for _ in $(seq 1 300); do
    addr="$(grep -o 'roster listening on http://[0-9.:]*' "$log" 2>/dev/null | head -n1 | sed 's|.*http://||' || true)"
    if [ -n "$addr" ] && curl -fs -o /dev/null --max-time 2 "http://$addr/readyz"; then
      echo "$addr"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "roster (pid $pid) not ready after 30 s" >&2
  cat "$log" >&2
  return 1
}
