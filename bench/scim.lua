-- wrk script for bench/scim.sh: each connection POSTs new SCIM Users
-- (userName u<thread>-<n>@scim.test) to the URL given on the command line
-- with the SCIM token in $TOKEN, until its thread has made $PER_THREAD; it
-- counts the answers by status so that errors never pass for throughput.
-- A thread that has made its share stops sending (wrk itself runs on until
-- bench/scim.sh interrupts it).
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  made = 0
  limit = tonumber(os.getenv("PER_THREAD"))
end

function request()
  counter = counter + 1
  local name = string.format("u%d-%d@scim.test", id, counter)
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",' ..
    '"name":{"givenName":"User","familyName":"%d-%d"},"emails":[{"primary":true,"type":"work","value":"%s"}],' ..
    '"displayName":"User %d-%d","active":true,"externalId":"ext-%d-%d"}',
    name, id, counter, name, id, counter, id, counter)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/scim+json",
    ["Authorization"] = "Bearer " .. os.getenv("TOKEN"),
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  made = made + 1
  if made >= limit then
    wrk.thread:stop()
  end
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
  io.write(string.format("create_p50_ms=%.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("create_p99_ms=%.2f\n", latency:percentile(99) / 1000))
end
