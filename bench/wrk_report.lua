-- Appended to every wrk script of scripts/bench.sh and
-- scripts/bench_scale.sh: one machine-readable line after wrk's own
-- summary. Latencies are microseconds; "status" counts non-2xx answers.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
