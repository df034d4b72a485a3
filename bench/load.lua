-- wrk script shared by every target: one request, repeated; prints one JSON line.
-- BENCH_METHOD, BENCH_BODY and BENCH_TOKEN (a bearer token) come from the environment.
-- An error is a socket error, a non-2xx status, or a body holding "errors"
-- (GraphQL answers 200 with an errors list): errors never count as throughput.

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 or (body and string.find(body, '"errors"', 1, true)) then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
  end
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    'BENCH {"requests": %d, "bad": %d, "socket_errors": %d, "duration_us": %d, '
      .. '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, bad_total, socket, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
