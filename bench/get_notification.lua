-- get_notification.lua -- wrk script: GET /notifications/q-<random> with the API key, over
-- the BENCH_IDS notifications the benchmark put in the read model.
local n = tonumber(os.getenv("BENCH_IDS") or "1000000")

function init(args)
   math.randomseed(os.time() + math.floor(os.clock() * 1e6))
   local key = os.getenv("BENCH_KEY")
   if key then
      wrk.headers["Authorization"] = "Bearer " .. key
   end
end

function request()
   return wrk.format("GET", "/notifications/q-" .. math.random(0, n - 1))
end

function done(summary, latency, requests)
   io.write(string.format("non-2xx %d\n", summary.errors.status))
end
