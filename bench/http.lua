-- bench/http.lua: wrk script for bench/http: POST one 1-row TF Serving
-- predict per request, then print requests/s, p50/p99 latency and errors as
-- JSON lines (the format of every maas bench).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances": [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]]}'

-- The case name comes from bench/http ($MAAS_BENCH_CASE), which runs it twice.
local case = os.getenv("MAAS_BENCH_CASE") or "tf_predict_1row_64conn"

local function figure(metric, value, unit)
   io.write(string.format(
      '{"bench":"http","case":"%s","metric":"%s","value":%.6g,"unit":"%s"}\n',
      case, metric, value, unit))
end

function done(summary, latency, requests)
   local seconds = summary.duration / 1e6
   local e = summary.errors
   figure("requests_per_s", summary.requests / seconds, "req/s")
   figure("latency_p50", latency:percentile(50) / 1000, "ms")
   figure("latency_p99", latency:percentile(99) / 1000, "ms")
   figure("errors", e.connect + e.read + e.write + e.status + e.timeout, "requests")
end
