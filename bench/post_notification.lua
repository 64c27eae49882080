-- post_notification.lua -- wrk script: POST /notifications with a unique externalId per
-- request (run id, thread, counter), so that every request is a new notification.
--   wrk -t2 -c64 -d10s -s bench/post_notification.lua http://127.0.0.1:8080
local threads = {}
local run = tostring(os.time())

function setup(thread)
   thread:set("tid", #threads)
   thread:set("run", run)
   table.insert(threads, thread)
end

function init(args)
   n = 0
   wrk.method = "POST"
   wrk.path = "/notifications"
   wrk.headers["Content-Type"] = "application/json"
   local key = os.getenv("BENCH_KEY")
   if key then
      wrk.headers["Authorization"] = "Bearer " .. key
   end
end

function request()
   n = n + 1
   local body = string.format(
      '{"externalId":"bench-%s-%d-%d","channel":"sms","to":"+4915112345678","body":"bench"}',
      run, tid, n)
   return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
   io.write(string.format("non-2xx %d\n", summary.errors.status))
end
