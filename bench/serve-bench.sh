#!/usr/bin/env bash
# Serving benchmark of the built-in minilm model, in one run:
#   1. the in-process compute ceiling (levee-bench's CeilingBenchmark) at batch 1 and 32;
#   2. `levee serve` with dynamic batching, loaded by wrk at each concurrency level;
#   3. the same with batching off (--max-batch-size 0).
# It writes the results between the serve-bench markers in docs/benchmarks.md.
#
# Environment overrides, for a quick run:
#   BENCH_SECONDS    seconds per concurrency level (default 15)
#   WARMUP_SECONDS   unrecorded wrk load before each mode's levels (default 5)
#   CEILING_SECONDS  measuring time per batch size of the ceiling (default 10)
#   CONCURRENCY      wrk connection counts (default "1 8 32 64 128")
#   WRK_THREADS      wrk threads, capped at each level's connection count (default 1)
#   OUTPUT           the Markdown file to update (default docs/benchmarks.md)
# Traffic goes only to a server this script starts on 127.0.0.1.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bench_seconds="${BENCH_SECONDS:-15}"
warmup_seconds="${WARMUP_SECONDS:-5}"
ceiling_seconds="${CEILING_SECONDS:-10}"
concurrency="${CONCURRENCY:-1 8 32 64 128}"
wrk_threads="${WRK_THREADS:-1}"
output="${OUTPUT:-docs/benchmarks.md}"
# Latency bound for the "goodput" ratio: the best throughput whose p99 stays at or below it.
p99_bound_ms=150
# wrk counts a response slower than this as a timeout error rather than a latency sample.
wrk_timeout=10s
# Upper bound on the wait for a server to listen and report ready, in half-second polls. It is
# generous because the launcher may build the project first.
start_polls=240

for value in "$bench_seconds" "$warmup_seconds" "$ceiling_seconds" "$wrk_threads"; do
    if ! [[ "$value" =~ ^[0-9]+$ ]]; then
        echo "serve-bench: '$value' is not a whole number of seconds or threads" >&2
        exit 2
    fi
done

export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
java="$JAVA_HOME/bin/java"
if ! "$java" -version 2>&1 | grep -Eq 'version "(2[5-9]|[3-9][0-9])'; then
    echo "serve-bench: $java is not a JDK 25 or newer; set JAVA_HOME to one" >&2
    exit 1
fi

for connections in $concurrency; do
    if ! [[ "$connections" =~ ^[1-9][0-9]*$ ]]; then
        echo "serve-bench: CONCURRENCY: '$connections' is not a positive whole number" >&2
        exit 2
    fi
done

work="$(mktemp -d)"
# The running server's process id and port. Globals rather than command substitution, because a
# server started in a subshell would escape the EXIT trap.
server_pid=""
server_port=""

stop_server() {
    [[ -n "$server_pid" ]] || return 0
    # SIGTERM lets the node drain; SIGKILL after 30 s keeps a stuck server from outliving the run.
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 60); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.5
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

install_wrk() {
    command -v wrk >/dev/null && return 0
    local sudo=""
    [[ "$(id -u)" == 0 ]] || sudo="sudo"
    echo "serve-bench: installing wrk" >&2
    # The package lists may be stale or absent in a fresh container, so update only if needed.
    $sudo apt-get install -y wrk >&2 || { $sudo apt-get update >&2 && $sudo apt-get install -y wrk >&2; }
}

# Prints the value of key $2 from a file of key=value lines $1.
value_of() {
    awk -F= -v key="$2" '$1 == key { print $2 }' "$1"
}

# Prints a random port in 20000-59999 that nothing on 127.0.0.1 accepts connections on.
pick_port() {
    local attempt port
    for ((attempt = 0; attempt < 50; attempt++)); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "serve-bench: found no free port on 127.0.0.1 in 50 tries" >&2
    return 1
}

# Starts `levee serve` with options $2... on a free loopback port, logging to $1, and waits until
# it reports ready. Another process may take the port between the check and the bind, so a server
# that exits before it is ready gets a second and third try on other ports.
# NOTE: `--port 0` would avoid that race, but LeveeNode fails with "Address already in use" when
# it binds port 0 with more than one event loop.
start_server() {
    local log="$1"
    shift
    local attempt port poll
    for ((attempt = 0; attempt < 3; attempt++)); do
        port="$(pick_port)"
        ./levee serve --host 127.0.0.1 --port "$port" "$@" >"$log" 2>&1 &
        server_pid=$!
        for ((poll = 0; poll < start_polls; poll++)); do
            if curl -fs --max-time 5 "http://127.0.0.1:$port/v2/health/ready" >/dev/null; then
                server_port="$port"
                return 0
            fi
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$server_pid" 2>/dev/null; then
            break
        fi
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    done
    echo "serve-bench: the server did not become ready; its log:" >&2
    cat "$log" >&2
    return 1
}

# Runs wrk for $3 seconds with $2 connections against the server on port $1 and prints its
# key=value lines.
run_wrk() {
    local port="$1" connections="$2" seconds="$3"
    local threads=$((wrk_threads < connections ? wrk_threads : connections))
    ((threads >= 1)) || threads=1
    wrk -t "$threads" -c "$connections" -d "${seconds}s" --timeout "$wrk_timeout" \
        -s bench/v2-infer.lua "http://127.0.0.1:$port/v2/models/minilm/infer" | grep '^wrk_'
}

# Prints "batches rows" run so far by the server on port $1, from its levee_batch_size metric.
batch_counters() {
    curl -fs --max-time 5 "http://127.0.0.1:$1/metrics" | awk '
        /^levee_batch_size_count\{model="minilm"/ { batches = $2 }
        /^levee_batch_size_sum\{model="minilm"/ { rows = $2 }
        END { print batches + 0, rows + 0 }'
}

# Prints the mean rows per batch between two batch_counters readings $1 and $2.
mean_batch_size() {
    awk -v before="$1" -v after="$2" 'BEGIN {
        split(before, b, " "); split(after, a, " ")
        if (a[1] > b[1]) printf "%.1f", (a[2] - b[2]) / (a[1] - b[1]); else print "n/a" }'
}

# Measures the server mode named $1, started with the `levee serve` options $2..., and appends
# rows "mode connections rps p50 p99 non2xx socket_errors mean_batch_size" to $work/rows.
measure_mode() {
    local mode="$1"
    shift
    echo "serve-bench: mode $mode" >&2
    start_server "$work/server-$mode.log" "$@"
    local port="$server_port"
    if ((warmup_seconds > 0)); then
        run_wrk "$port" 32 "$warmup_seconds" >/dev/null
    fi
    local connections
    for connections in $concurrency; do
        local before after row
        before="$(batch_counters "$port")"
        run_wrk "$port" "$connections" "$bench_seconds" >"$work/wrk.txt"
        after="$(batch_counters "$port")"
        row="$mode $connections $(value_of "$work/wrk.txt" wrk_ok_rps) $(value_of "$work/wrk.txt" wrk_p50_ms)"
        row+=" $(value_of "$work/wrk.txt" wrk_p99_ms) $(value_of "$work/wrk.txt" wrk_non2xx)"
        row+=" $(value_of "$work/wrk.txt" wrk_socket_errors) $(mean_batch_size "$before" "$after")"
        echo "serve-bench: $row" >&2
        echo "$row" >>"$work/rows"
    done
    stop_server
}

# Prints the highest req/s of mode $1 whose p99 is within the bound, or nothing.
best_within_bound() {
    awk -v mode="$1" -v bound="$p99_bound_ms" \
        '$1 == mode && $5 <= bound && $3 > best { best = $3 } END { if (best > 0) print best }' "$work/rows"
}

# Prints $1 / $2 with two decimals, or "n/a" when either is missing.
ratio() {
    if [[ -n "$1" && -n "$2" ]]; then
        awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
    else
        echo "n/a"
    fi
}

mode_table() {
    echo "| connections | req/s (200 only) | p50 ms | p99 ms | non-2xx | socket errors | mean batch size |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
    awk -v mode="$1" '$1 == mode { printf "| %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8 }' \
        "$work/rows"
}

write_section() {
    local command="$1" on_best="$2" off_best="$3" ceiling1="$4" ceiling32="$5" load_start="$6"
    local cpu
    cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
    cat <<EOF
<!-- serve-bench:start -->
## Serving benchmark: minilm over REST

Written by \`bench/serve-bench.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(
        git diff --quiet HEAD 2>/dev/null || echo " with uncommitted changes").

- Machine: $(nproc) processors, ${cpu:-unknown CPU}. One-minute load average before the run:
  $load_start, which is other work only, so a value near or above the processor count means that
  work competed with the benchmark. At the end, including this run's own load: $(one_minute_load).
- Software: $("$java" -version 2>&1 | head -n 1); $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2 || true).
- Command: \`$command\`
- The server, wrk and the ceiling benchmark share this machine's processors, and the machine is
  shared with other work, so the ratios matter more than the absolute numbers.
- Each request carries one distinct short sentence as a v2 JSON BYTES tensor. wrk runs a closed
  loop (each connection waits for its response), so latency under overload is understated.
- Mean batch size: rows per model run during that level, from the server's \`levee_batch_size\`
  metric.

### Compute ceiling (in-process \`TextEmbeddingModel.embed\`, one thread calling, no HTTP)

| batch size | sentences/s |
|---:|---:|
| 1 | $ceiling1 |
| 32 | $ceiling32 |

### Batching on (the built-in model's default batch settings)

$(mode_table on)

### Batching off (\`--max-batch-size 0\`)

$(mode_table off)

### Ratios

- Best req/s with p99 <= $p99_bound_ms ms, batching on: ${on_best:-none}; as a fraction of the
  batch-32 ceiling: $(ratio "$on_best" "$ceiling32") (goal: >= 0.85).
- Best req/s with p99 <= $p99_bound_ms ms, batching off: ${off_best:-none}; as a fraction of the
  batch-1 ceiling: $(ratio "$off_best" "$ceiling1").
- Batching on vs off, best req/s with p99 <= $p99_bound_ms ms: $(ratio "$on_best" "$off_best").
<!-- serve-bench:end -->
EOF
}

one_minute_load() {
    cut -d' ' -f1 /proc/loadavg
}

# Replaces the marked section of $output with the file $1, or appends it if there is none.
update_output() {
    local section="$1"
    mkdir -p "$(dirname "$output")"
    if [[ ! -f "$output" ]]; then
        printf '# Benchmarks\n\nMeasured results, each with the command and machine that produced it.\n' >"$output"
    fi
    if grep -q '<!-- serve-bench:start -->' "$output"; then
        awk -v section="$section" '
            /<!-- serve-bench:start -->/ { while ((getline line < section) > 0) print line; skip = 1; next }
            /<!-- serve-bench:end -->/ { skip = 0; next }
            !skip { print }' "$output" >"$work/output.md"
        cp "$work/output.md" "$output"
    else
        { echo; cat "$section"; } >>"$output"
    fi
}

main() {
    local command="BENCH_SECONDS=$bench_seconds WARMUP_SECONDS=$warmup_seconds CEILING_SECONDS=$ceiling_seconds"
    command+=" CONCURRENCY=\"$concurrency\" WRK_THREADS=$wrk_threads bench/serve-bench.sh"

    local load_start
    load_start="$(one_minute_load)"
    install_wrk
    echo "serve-bench: building" >&2
    ./mvnw -q -B -DskipTests package >&2

    echo "serve-bench: compute ceiling" >&2
    "$java" --enable-native-access=ALL-UNNAMED -jar levee-bench/target/levee-bench.jar \
        --seconds "$ceiling_seconds" --warmup-seconds "$warmup_seconds" >"$work/ceiling.txt"
    cat "$work/ceiling.txt" >&2
    local ceiling1 ceiling32
    ceiling1="$(value_of "$work/ceiling.txt" ceiling_batch1_sps)"
    ceiling32="$(value_of "$work/ceiling.txt" ceiling_batch32_sps)"

    : >"$work/rows"
    measure_mode on
    measure_mode off --max-batch-size 0

    local on_best off_best
    on_best="$(best_within_bound on)"
    off_best="$(best_within_bound off)"
    write_section "$command" "$on_best" "$off_best" "$ceiling1" "$ceiling32" "$load_start" >"$work/section.md"
    update_output "$work/section.md"
    echo "serve-bench: wrote $output" >&2
    cat "$work/section.md"
}

main
