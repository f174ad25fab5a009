-- wrk script for bench/check.sh: POSTs the body in $BODY_FILE with the
-- bearer token in $TOKEN to the URL given on the command line, and prints
-- the answers by status so that errors never pass for throughput.
local f = assert(io.open(os.getenv("BODY_FILE"), "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")

-- $DELAY_MS, when set, paces each connection: it waits that long after an
-- answer before its next request (a steady rate instead of as many as the
-- server can answer).
local pause = tonumber(os.getenv("DELAY_MS") or "")
if pause then
  function delay()
    return pause
  end
end

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
    for code, n in pairs(t:get("statuses")) do
      total[code] = (total[code] or 0) + n
    end
  end
  for code, n in pairs(total) do
    io.write(string.format("status_%d=%d\n", code, n))
  end
  io.write(string.format("latency_p50_ms=%.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("latency_p99_ms=%.2f\n", latency:percentile(99) / 1000))
end
