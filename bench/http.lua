-- bench/http.lua: wrk script for bench/http: POST one 1-row TF Serving
-- predict per request, then print requests/s, p50/p99 latency and errors as
-- JSON lines (the format of every maas bench).
-- With $MAAS_BENCH_BODY (a file bench/http writes) it POSTs that KServe v2
-- binary request instead ($MAAS_BENCH_HEADER_LENGTH bytes of JSON, then the
-- rows' bytes) and prints rows/s too ($MAAS_BENCH_ROWS rows a request).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances": [[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]]}'

local body_path = os.getenv("MAAS_BENCH_BODY")
local rows = tonumber(os.getenv("MAAS_BENCH_ROWS") or "1")
if body_path then
   local file = assert(io.open(body_path, "rb"))
   wrk.body = file:read("*a")
   file:close()
   wrk.headers["Content-Type"] = "application/octet-stream"
   wrk.headers["Inference-Header-Content-Length"] = os.getenv("MAAS_BENCH_HEADER_LENGTH")
end

-- The case name comes from bench/http ($MAAS_BENCH_CASE), which runs it
-- once per case.
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
   if rows > 1 then
      figure("rows_per_s", summary.requests * rows / seconds, "rows/s")
   end
   figure("latency_p50", latency:percentile(50) / 1000, "ms")
   figure("latency_p99", latency:percentile(99) / 1000, "ms")
   figure("errors", e.connect + e.read + e.write + e.status + e.timeout, "requests")
end
