-- wrk script for bench/signin.sh: every request is a successful sign-in of
-- the bootstrap owner (successful sign-ins are not throttled).
wrk.method = "POST"
wrk.body = '{"email":"bench@example.test","password":"bench-password-1"}'
wrk.headers["Content-Type"] = "application/json"

-- Count answers by status in each thread, so a run that was refused or
-- failed shows up in the summary instead of passing for throughput.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do
      total[code] = (total[code] or 0) + n
    end
  end
  for code, n in pairs(total) do
    io.write(string.format("status_%d=%d\n", code, n))
  end
  io.write(string.format("latency_p50_ms=%.1f\n", latency:percentile(50) / 1000))
  io.write(string.format("latency_p99_ms=%.1f\n", latency:percentile(99) / 1000))
end
