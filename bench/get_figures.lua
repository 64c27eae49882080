-- get_figures.lua -- wrk script: GET /figures (the dashboard's numbers) with the bench key.
wrk.method = "GET"
wrk.path = "/figures?windowMinutes=60&hours=3&anomalies=20"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")

function done(summary, latency, requests)
   io.write(string.format("non-2xx %d\n", summary.errors.status))
end
