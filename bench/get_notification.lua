-- get_notification.lua -- wrk script: GET /notifications/q-<random> with the API key, over
-- the BENCH_IDS notifications the benchmark put in the read model.
--
-- The requests are written in init(), BENCH_REQUESTS (100000) per thread of random ids,
-- and request() hands them out in turn: formatting each request in Lua as it is sent
-- costs wrk more than the server spends on a lookup, and wrk shares the cores with the
-- server. BENCH_PATH (default /notifications/q-) is the path before the id: the
-- benchmark sends /healthz?q- with the same script, so that both figures carry the same
-- client work.
local n = tonumber(os.getenv("BENCH_IDS") or "1000000")
local path = os.getenv("BENCH_PATH") or "/notifications/q-"
local count = tonumber(os.getenv("BENCH_REQUESTS") or "100000")
local threads = {}
local reqs, i = {}, 0

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   math.randomseed(os.time() * 16 + tid)
   local key = os.getenv("BENCH_KEY")
   if key then
      wrk.headers["Authorization"] = "Bearer " .. key
   end
   for k = 1, count do
      reqs[k] = wrk.format("GET", path .. math.random(0, n - 1))
   end
end

function request()
   i = i % count + 1
   return reqs[i]
end

function done(summary, latency, requests)
   io.write(string.format("non-2xx %d\n", summary.errors.status))
end
