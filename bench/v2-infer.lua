-- wrk script of bench/serve-bench.sh. Every request carries a new short sentence as a KServe v2
-- JSON BYTES tensor, so no two requests of a wrk thread embed the same text. The sentence template
-- matches the one in dev.levee.bench.CeilingBenchmark, so served requests and the ceiling tokenize
-- to about the same length. At the end it prints key=value lines that the script parses.

local threads = {}
local next_thread_id = 0

function setup(thread)
    thread:set("thread_id", next_thread_id)
    next_thread_id = next_thread_id + 1
    table.insert(threads, thread)
end

function init(args)
    counter = 0
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
end

function request()
    counter = counter + 1
    local sentence = string.format("Sentence %d from client %d: the parcel ships on time.", counter, thread_id)
    local body = '{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["' .. sentence .. '"]}]}'
    return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
    local seconds = summary.duration / 1e6
    local errors = summary.errors
    local ok = summary.requests - errors.status
    io.write(string.format("wrk_requests=%d\n", summary.requests))
    io.write(string.format("wrk_seconds=%.3f\n", seconds))
    io.write(string.format("wrk_ok_rps=%.1f\n", ok / seconds))
    io.write(string.format("wrk_p50_ms=%.1f\n", latency:percentile(50) / 1000))
    io.write(string.format("wrk_p99_ms=%.1f\n", latency:percentile(99) / 1000))
    io.write(string.format("wrk_non2xx=%d\n", errors.status))
    io.write(string.format("wrk_socket_errors=%d\n", errors.connect + errors.read + errors.write + errors.timeout))
end
