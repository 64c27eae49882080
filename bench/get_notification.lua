-- get_notification.lua -- wrk script: GET /notifications/q-<random> with the API key, over
-- the BENCH_IDS notifications the benchmark put in the read model.
--
-- wrk.format() builds a whole request in Lua, which costs wrk more than the server spends
-- on a lookup, on the same two cores. So it runs once, in init(), for a template that is
-- cut around the id; each request is then the two halves and a random id. Nothing heavier
-- may go into init(): wrk starts each thread as soon as its init() returns, and its clock
-- only once every thread has started, so a slow init() counts the first thread's requests
-- without their time. BENCH_PATH (default /notifications/q-) is the path before the id:
-- the benchmark sends /healthz?q- with the same script, so that both figures carry the
-- same client work.
local n = tonumber(os.getenv("BENCH_IDS") or "1000000")
local path = os.getenv("BENCH_PATH") or "/notifications/q-"
local head, tail = "", ""
local threads = {}

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
   local template = wrk.format("GET", path .. "@ID@")
   local at = template:find("@ID@", 1, true)
   head, tail = template:sub(1, at - 1), template:sub(at + 4)
end

function request()
   return head .. math.random(0, n - 1) .. tail
end

function done(summary, latency, requests)
   io.write(string.format("non-2xx %d\n", summary.errors.status))
end
