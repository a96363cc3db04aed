"""Drives the gateway benchmark: scale-out capacity with 1, 2 and 4 nodes, the gateway's cost, report.

Run through bench/gateway-bench.sh. Uses only the standard library. Every process it starts runs in
its own process group and is stopped when the run ends, fails or gets SIGINT, SIGTERM or SIGHUP.
Every load step is bounded in time by the load generator and by a wait limit here.
"""
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEVEE = os.path.join(ROOT, "levee")
MARK_START = "<!-- gateway-bench:start -->"
MARK_END = "<!-- gateway-bench:end -->"

NODE_COUNTS = (1, 2, 4)
WARMUP_SECONDS = 2.0
LOADTEST_TIMEOUT_MS = 10000
MAX_REJECTED_SHARE = 0.01
# Offered load of the cost measurement, as a multiple of the capacity of one node behind the gateway.
COST_LOAD = 0.5
# The search tries SEARCH_START_RPS (or a hint), moves by SEARCH_FACTOR until one rate meets the
# objective and the next does not, then bisects between them.
SEARCH_START_RPS = 40.0
SEARCH_FACTOR = 1.5
SEARCH_MAX_MOVES = 12
SEARCH_BISECTIONS = 5
READY_LIMIT_SECONDS = 120
SETTLE_LIMIT_SECONDS = 60
STOP_LIMIT_SECONDS = 30
GOAL_LINEAR_RATIO = 0.9
GOAL_P50_ADDED_MS = 0.3
GOAL_THROUGHPUT_LOST_PCT = 10.0
MODEL_CONFIG = {"platform": "synthetic", "max_batch_size": 4, "max_queue_delay_ms": 1,
                "parameters": {"service_time_ms": "20"}}

# Processes started and not yet reaped, which stop_all ends when the run finishes or fails.
STARTED = []


def env_number(name, default, kind=float):
    text = os.environ.get(name, str(default))
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        sys.exit(f"gateway-bench: {name}={text!r} is invalid; expected a positive "
                 f"{'whole number' if kind is int else 'number'}")
    return value


STEP_SECONDS = env_number("STEP_SECONDS", 15)
SEARCH_SECONDS = env_number("SEARCH_SECONDS", 5)
SLO_MS = env_number("SLO_MS", 150)
COST_PAIRS = env_number("COST_PAIRS", 3, int)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    """Returns the status and body of a GET, or (None, "") when the server cannot be reached."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
    except OSError:
        return None, ""


def start(args, log_path):
    """Starts `levee ARGS` in a new process group, with its output in log_path, and records it."""
    return start_program([LEVEE, *args], log_path)


def start_program(argv, log_path):
    """Starts argv in a new process group, with its output in log_path, and records it."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    STARTED.append(process)
    return process


def signal_group(process, signum):
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def stop(processes):
    """Sends SIGTERM to each process group, then SIGKILL to those still running after the limit."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        signal_group(process, signal.SIGTERM)
    deadline = time.time() + STOP_LIMIT_SECONDS
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            signal_group(process, signal.SIGKILL)
            process.wait(timeout=10)
        # Members of the group may outlive its leader. Only groups signalled just now get this, so the
        # id is very unlikely to belong to an unrelated group by then.
        signal_group(process, signal.SIGKILL)


def stop_all():
    # A second Ctrl-C must not cut the cleanup short.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    stop(list(reversed(STARTED)))


class Service:
    """A `levee serve` node or `levee gateway` on a free loopback port, with its log in log_dir."""

    def __init__(self, name, args, log_dir):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.process = start([*args, "--host", "127.0.0.1", "--port", str(self.port)], self.log_path)

    def wait_ready(self):
        deadline = time.time() + READY_LIMIT_SECONDS
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with status {self.process.returncode}; see {self.log_path}")
            if http_get(self.url + "/v2/health/ready", timeout=2)[0] == 200:
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} was not ready within {READY_LIMIT_SECONDS} s; see {self.log_path}")

    def metrics(self):
        status, text = http_get(self.url + "/metrics")
        return text if status == 200 else ""

    def stop(self):
        stop([self.process])


def metric_values(text, name):
    """Yields (labels, value) for each sample of a Prometheus metric in text."""
    pattern = re.compile(r"^" + re.escape(name) + r"\{(.*)\} (\S+)$", re.M)
    for labels, value in pattern.findall(text):
        yield dict(re.findall(r'(\w+)="([^"]*)"', labels)), float(value)


def queued_or_running(node):
    text = node.metrics()
    if not text:
        return -1
    return sum(v for _, v in metric_values(text, "levee_queue_depth")) + \
        sum(v for _, v in metric_values(text, "levee_inflight"))


def settle(nodes):
    """Waits until no node has a request queued or running, so one step does not leak into the next."""
    deadline = time.time() + SETTLE_LIMIT_SECONDS
    while time.time() < deadline and any(queued_or_running(n) != 0 for n in nodes):
        time.sleep(0.5)


def wait_full_weight(gateway, count):
    """Waits until the gateway routes to all count nodes at full weight, after its ramp-up."""
    deadline = time.time() + READY_LIMIT_SECONDS
    while time.time() < deadline:
        weights = [v for _, v in metric_values(gateway.metrics(), "levee_gateway_node_weight")]
        if len(weights) == count and all(w >= 1 for w in weights):
            return
        time.sleep(0.5)
    raise RuntimeError(f"gateway did not reach full weight on {count} nodes within {READY_LIMIT_SECONDS} s; "
                       f"see {gateway.log_path}")


def loadtest(url, rate, seconds, seed=1):
    """Runs one open-loop step of the synthetic model and returns its JSON result."""
    fd, path = tempfile.mkstemp(prefix="levee-loadtest-", suffix=".json")
    os.close(fd)
    try:
        return run_loadtest(path, url, rate, seconds, seed)
    finally:
        os.remove(path)


def run_loadtest(json_path, url, rate, seconds, seed):
    args = ["loadtest", "--url", url, "--model", "synthetic", "--rate", f"{rate:.1f}",
            "--duration-s", str(seconds), "--warmup-s", str(WARMUP_SECONDS), "--slo-ms", str(SLO_MS),
            "--timeout-ms", str(LOADTEST_TIMEOUT_MS), "--seed", str(seed), "--json", json_path]
    process = subprocess.Popen([LEVEE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    STARTED.append(process)
    # Warm-up, the step, the wait for late responses, and time for two JVM starts and stops.
    limit = WARMUP_SECONDS + seconds + LOADTEST_TIMEOUT_MS / 1000 + 60
    try:
        _, stderr = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        stop([process])
        raise RuntimeError(f"levee loadtest at {rate:.1f}/s did not finish within {limit:.0f} s")
    # Only a process that ended here leaves the list, so stop_all still ends one that an interrupt left running.
    STARTED.remove(process)
    if process.returncode != 0:
        raise RuntimeError(f"levee loadtest at {rate:.1f}/s failed with status {process.returncode}: "
                           f"{stderr.decode().strip()}")
    with open(json_path) as f:
        return json.load(f)["steps"][0]


def within_objective(step):
    return step["latency_ms"]["p99"] <= SLO_MS and step["ok"] > 0 and step["errors_total"] == 0 \
        and step["rejected_total"] <= MAX_REJECTED_SHARE * step["sent"]


def describe(step):
    return (f"ok {step['ok']}, goodput {step['goodput_rps']:.1f}/s, p50 {step['latency_ms']['p50']:.2f} ms, "
            f"p99 {step['latency_ms']['p99']:.1f} ms, rejected {step['rejected_total']}, "
            f"errors {step['errors_total']}")


def find_capacity(url, nodes, start_rate):
    """Finds the highest rate whose ok p99 stays within the objective with at most 1% rejected.

    Moves from start_rate by SEARCH_FACTOR until one rate meets the objective and the next does not,
    then bisects SEARCH_BISECTIONS times. Returns the rate, the trace of (rate, step) tried, and
    whether the search stopped after SEARCH_MAX_MOVES with every rate met, so the rate is only a
    lower bound.
    """
    trace = []

    def meets(rate):
        settle(nodes)
        step = loadtest(url, rate, SEARCH_SECONDS)
        trace.append((rate, step))
        ok = within_objective(step)
        print(f"    {rate:7.1f}/s: {describe(step)}: {'met' if ok else 'missed'}", flush=True)
        return ok

    rate = start_rate
    low, high = (rate, None) if meets(rate) else (None, rate)
    for _ in range(SEARCH_MAX_MOVES):
        if low is not None and high is not None:
            break
        rate = rate * SEARCH_FACTOR if high is None else rate / SEARCH_FACTOR
        if meets(rate):
            low = rate
        else:
            high = rate
    if low is None:
        raise RuntimeError(f"no rate down to {rate:.1f}/s met the objective at {url}; see the logs")
    if high is None:
        print(f"    every rate up to {rate:.1f}/s met the objective; reporting it as a lower bound", flush=True)
        return low, trace, True
    for _ in range(SEARCH_BISECTIONS):
        mid = (low + high) / 2
        if meets(mid):
            low = mid
        else:
            high = mid
    return low, trace, False


def attempts_by_node(gateway):
    """Returns the attempts the gateway has sent so far, by node address, whatever their result."""
    counts = {}
    for labels, value in metric_values(gateway.metrics(), "levee_gateway_attempts_total"):
        counts[labels.get("node", "?")] = counts.get(labels.get("node", "?"), 0) + value
    return counts


def attempts_to(counts, node):
    return sum(v for address, v in counts.items() if address.endswith(f":{node.port}"))


def retries(gateway):
    return sum(v for _, v in metric_values(gateway.metrics(), "levee_gateway_retries_total"))


def measure_at_capacity(label, url, nodes, search, gateway=None):
    """Runs a STEP_SECONDS step at the capacity find_capacity returned and counts the gateway's attempts per node."""
    capacity, _, lower_bound = search
    settle(nodes)
    before = attempts_by_node(gateway) if gateway else {}
    retries_before = retries(gateway) if gateway else 0
    step = loadtest(url, capacity, STEP_SECONDS)
    step["label"] = label
    step["capacity"] = capacity
    step["lower_bound"] = lower_bound
    step["node_count"] = len(nodes)
    if gateway:
        after = attempts_by_node(gateway)
        sent = [attempts_to(after, node) - attempts_to(before, node) for node in nodes]
        total = sum(sent) or 1
        step["attempt_shares"] = ", ".join(f"{100 * s / total:.0f}%" for s in sent)
        step["retries"] = retries(gateway) - retries_before
    print(f"  {label}: capacity {capacity:.1f}/s; {STEP_SECONDS:g} s at it: {describe(step)}", flush=True)
    return step


def start_nginx(node, work_dir):
    """Starts nginx as a plain reverse proxy to node (keep-alive upstream, one worker), or returns None without nginx."""
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if binary is None:
        print("  nginx is not installed, so the cost steps have no reference proxy (apt-get install nginx-light)",
              flush=True)
        return None
    prefix = os.path.join(work_dir, "nginx")
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    port = free_port()
    config = os.path.join(prefix, "nginx.conf")
    with open(config, "w") as f:
        f.write(f"""worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    upstream node {{ server 127.0.0.1:{node.port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://node;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
""")
    process = start_program([binary, "-p", prefix, "-c", config], os.path.join(work_dir, "nginx.log"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_LIMIT_SECONDS
    while http_get(url + "/v2/health/ready")[0] != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"nginx did not proxy to the node; see {work_dir}/nginx.log")
        time.sleep(0.2)
    version = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip()
    return process, url, version


def measure_cost(node, gateway, rate, nginx_url):
    """Runs COST_PAIRS rounds of direct, gateway and (when given) nginx steps at rate, in alternating order,
    one arrival seed per round."""
    paths = ["direct", "gateway"] + (["nginx"] if nginx_url else [])
    urls = {"direct": node.url, "gateway": gateway.url, "nginx": nginx_url}
    pairs = []
    for index in range(COST_PAIRS):
        seed = index + 1
        order = paths if index % 2 == 0 else list(reversed(paths))
        pair = {"seed": seed}
        for path in order:
            settle([node])
            pair[path] = loadtest(urls[path], rate, STEP_SECONDS, seed)
            print(f"    pair {index + 1}, {path}: {describe(pair[path])}", flush=True)
        direct, through = pair["direct"], pair["gateway"]
        pair["p50_added_ms"] = through["latency_ms"]["p50"] - direct["latency_ms"]["p50"]
        pair["lost_pct"] = 100 * (direct["goodput_rps"] - through["goodput_rps"]) / max(direct["goodput_rps"], 1e-9)
        if "nginx" in pair:
            pair["nginx_p50_added_ms"] = pair["nginx"]["latency_ms"]["p50"] - direct["latency_ms"]["p50"]
        pairs.append(pair)
    return pairs


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.+)", f.read())
            return m.group(1).strip() if m else "unknown"
    except OSError:
        return "unknown"


def git_commit():
    result = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def load_average():
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def statuses(step):
    parts = [f"200: {step['ok']}"] + [f"{k}: {v}" for k, v in sorted(step["rejected"].items())]
    parts += [f"{k}: {v}" for k, v in sorted(step["errors"].items())]
    return ", ".join(parts)


def scale_table(direct, by_count):
    single_capacity = by_count[1]["capacity"]
    rows = ["| nodes | path | capacity/s | capacity(N) / (N x capacity(1)) | offered/s | sent/s | goodput/s "
            "| ok p50 ms | ok p99 ms | answers | attempts per node | retries |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|"]
    for s in [direct] + [by_count[n] for n in NODE_COUNTS]:
        gateway = "attempt_shares" in s
        ratio = f"{s['capacity'] / (s['node_count'] * single_capacity):.2f}" if gateway else "-"
        capacity = (">= " if s["lower_bound"] else "") + f"{s['capacity']:.0f}"
        rows.append(f"| {s['node_count']} | {s['label']} | {capacity} | {ratio} | {s['offered_rps']:.0f} | "
                    f"{s['sent_rps']:.0f} | {s['goodput_rps']:.1f} | {s['latency_ms']['p50']:.2f} | "
                    f"{s['latency_ms']['p99']:.1f} | {statuses(s)} | {s.get('attempt_shares', '-')} | "
                    f"{s.get('retries', 0):.0f} |")
    return "\n".join(rows)


def search_lines(traces):
    lines = []
    for label, trace in traces:
        steps = ", ".join(f"{rate:.0f}/s (p99 {s['latency_ms']['p99']:.0f} ms, {s['rejected_total']} rejected, "
                          + (f"{s['errors_total']} errors, " if s["errors_total"] else "")
                          + ("met)" if within_objective(s) else "missed)")
                          for rate, s in trace)
        lines.append(f"- {label}: {steps}.")
    return "\n".join(lines)


def cost_table(pairs):
    nginx = all("nginx" in p for p in pairs)
    header = ("| pair | seed | direct p50 ms | gateway p50 ms | p50 added ms | direct goodput/s | gateway goodput/s "
              "| throughput lost % | direct p99 ms | gateway p99 ms |")
    rule = "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    if nginx:
        header += " nginx p50 ms | nginx p50 added ms |"
        rule += "---:|---:|"
    rows = [header, rule]
    for index, p in enumerate(pairs, 1):
        d, g = p["direct"], p["gateway"]
        row = (f"| {index} | {p['seed']} | {d['latency_ms']['p50']:.2f} | {g['latency_ms']['p50']:.2f} | "
               f"{p['p50_added_ms']:.2f} | {d['goodput_rps']:.1f} | {g['goodput_rps']:.1f} | "
               f"{p['lost_pct']:.1f} | {d['latency_ms']['p99']:.1f} | {g['latency_ms']['p99']:.1f} |")
        if nginx:
            row += f" {p['nginx']['latency_ms']['p50']:.2f} | {p['nginx_p50_added_ms']:.2f} |"
        rows.append(row)
    if nginx:
        median = statistics.median(p["nginx_p50_added_ms"] for p in pairs)
        rows.append("")
        rows.append(f"Median p50 added by nginx, the reference proxy: {median:.2f} ms.")
    return "\n".join(rows)


def goals_table(by_count, p50_added, lost_pct):
    single_capacity = by_count[1]["capacity"]
    checks = []
    for n in NODE_COUNTS[1:]:
        ratio = by_count[n]["capacity"] / (n * single_capacity)
        checks.append((f"capacity({n}) / ({n} x capacity(1)) >= {GOAL_LINEAR_RATIO}", f"{ratio:.2f}",
                       ratio >= GOAL_LINEAR_RATIO))
    checks.append((f"p50 added by the gateway <= {GOAL_P50_ADDED_MS} ms", f"{p50_added:.2f} ms",
                   p50_added <= GOAL_P50_ADDED_MS))
    checks.append((f"throughput lost through the gateway <= {GOAL_THROUGHPUT_LOST_PCT:.0f}%", f"{lost_pct:.1f}%",
                   lost_pct <= GOAL_THROUGHPUT_LOST_PCT))
    rows = ["| goal | measured | met |", "|---|---|---|"]
    rows += [f"| {name} | {value} | {'yes' if ok else 'no'} |" for name, value, ok in checks]
    return "\n".join(rows)


def command_line():
    settings = [f"{name}={os.environ[name]}" for name in ("STEP_SECONDS", "SEARCH_SECONDS", "SLO_MS", "COST_PAIRS")
                if name in os.environ]
    return " ".join(settings + ["bench/gateway-bench.sh"])


def write_report(run):
    by_count = run["by_count"]
    cost_rate = run["cost_rate"]
    pairs = run["pairs"]
    p50_added = statistics.median(p["p50_added_ms"] for p in pairs)
    lost_pct = statistics.median(p["lost_pct"] for p in pairs)
    nginx_text = ("Each pair also has a step through nginx "
                  f"({run['nginx_version']}), a plain reverse proxy with one worker and keep-alive connections "
                  "to node 1, as a reference for what any proxy hop costs on this machine."
                  if run.get("nginx_version") else "nginx was not installed, so there is no reference proxy.")
    section = f"""{MARK_START}
## Gateway: scale-out and cost

Written by `bench/gateway-bench.sh` on {run['date']}, commit {run['commit']}.

- Machine: {os.cpu_count()} cores ({cpu_model()}), Linux {platform.release()}. Load average (1, 5 and
  15 min) before the run: {run['load_before']}, which is other work only; after it, including this
  run's own load: {run['load_after']}.
- Command: `{command_line()}`
- Everything runs on this machine and shares its cores: the nodes (`levee serve`, one JVM each),
  the gateway (`levee gateway`, one JVM) and the load generator (`levee loadtest`: open loop,
  Poisson arrivals, latency measured from each request's intended send time).
- Model: the synthetic test model, which sleeps 20 ms per batch of at most 4 requests
  (`config.json`: `{json.dumps(MODEL_CONFIG)}`), so a node's capacity is set by its batch time
  and not by the CPU.
- Objective: ok p99 <= {SLO_MS:g} ms, at most {100 * MAX_REJECTED_SHARE:g}% of requests rejected
  (429, 503 or 504) and no other error. Each step starts with {WARMUP_SECONDS:g} s of unmeasured
  warm-up at its rate.

### Scale-out

Capacity is the highest rate that met the objective in search steps of {SEARCH_SECONDS:g} s: from
a starting rate the search moves by a factor of {SEARCH_FACTOR:g} until one rate meets the
objective and the next does not, then bisects {SEARCH_BISECTIONS} times. Each row then shows one
{STEP_SECONDS:g} s step at that capacity. The direct row sends to node 1 without the gateway. Attempts
per node and retries are counted by the gateway during that step and its warm-up. A retry is a new
attempt on another node after a node returned 503 or an attempt failed. Each gateway first gets one unmeasured
{SEARCH_SECONDS:g} s step at half its first search rate, so its JVM is not cold.

{scale_table(run['direct'], by_count)}

Search steps:

{search_lines(run['traces'])}

### Gateway cost on one node

{COST_PAIRS} pairs of {STEP_SECONDS:g} s steps at {cost_rate:.0f} requests/s ({COST_LOAD:g} x the
capacity of one node behind the gateway): one step straight to node 1 and one through the gateway
to node 1 alone, in alternating order, with the same arrival seed within a pair. {nginx_text}
Throughput is the goodput, ok responses within the objective per second. The goals use the median
of the pairs.

{cost_table(pairs)}

### Goals

{goals_table(by_count, p50_added, lost_pct)}
{MARK_END}"""
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if MARK_START in text:
        text = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda m: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path}")


def start_nodes(count, work_dir):
    repository = os.path.join(work_dir, "models")
    os.makedirs(os.path.join(repository, "synthetic"))
    with open(os.path.join(repository, "synthetic", "config.json"), "w") as f:
        json.dump(MODEL_CONFIG, f)
    # --exit-with-parent (the flag levee cluster gives its nodes) makes a node drain and exit when this
    # driver dies, even from SIGKILL, which no finally block survives.
    nodes = [Service(f"node-{i + 1}", ["serve", "--model-repository", repository, "--drain-seconds", "0",
                                       "--exit-with-parent"], work_dir) for i in range(count)]
    for node in nodes:
        node.wait_ready()
    return nodes


def start_gateway(nodes, work_dir, expected_capacity):
    """Starts a gateway in front of nodes and warms it up with one unmeasured step at half expected_capacity.

    Without that step a new gateway JVM meets the first search rate cold and may miss the objective
    while it still compiles its hot paths.
    """
    addresses = ",".join(f"127.0.0.1:{n.port}" for n in nodes)
    # NOTE: levee gateway has no --exit-with-parent, so a gateway outlives this driver when SIGKILL
    # ends the driver. Other signals and errors reach stop_all.
    gateway = Service(f"gateway-{len(nodes)}", ["gateway", "--nodes", addresses], work_dir)
    gateway.wait_ready()
    wait_full_weight(gateway, len(nodes))
    loadtest(gateway.url, expected_capacity / 2, SEARCH_SECONDS)
    return gateway


def run_benchmark(work_dir):
    run = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "commit": git_commit(), "load_before": load_average(), "by_count": {}, "traces": []}
    print(f"starting {max(NODE_COUNTS)} nodes; logs in {work_dir}", flush=True)
    nodes = start_nodes(max(NODE_COUNTS), work_dir)

    print("1 node, direct:", flush=True)
    search = find_capacity(nodes[0].url, nodes[:1], SEARCH_START_RPS)
    run["traces"].append(("1 node, direct", search[1]))
    run["direct"] = measure_at_capacity("direct", nodes[0].url, nodes[:1], search)
    capacity = search[0]
    previous_count = 1

    for count in NODE_COUNTS:
        members = nodes[:count]
        # Each search starts from linear scaling of the previous capacity.
        hint = capacity / previous_count * count
        label = f"{count} node{'s' if count > 1 else ''}, gateway"
        print(f"{label}: warming up the gateway", flush=True)
        gateway = start_gateway(members, work_dir, hint)
        try:
            search = find_capacity(gateway.url, members, hint)
            capacity = search[0]
            run["traces"].append((label, search[1]))
            run["by_count"][count] = measure_at_capacity("gateway", gateway.url, members, search, gateway)
            if count == 1:
                run["cost_rate"] = COST_LOAD * capacity
                print(f"gateway cost at {run['cost_rate']:.1f}/s:", flush=True)
                nginx = start_nginx(nodes[0], work_dir)
                run["nginx_version"] = nginx[2] if nginx else None
                try:
                    run["pairs"] = measure_cost(nodes[0], gateway, run["cost_rate"], nginx[1] if nginx else None)
                finally:
                    if nginx:
                        stop([nginx[0]])
        finally:
            gateway.stop()
        previous_count = count
    run["load_after"] = load_average()
    return run


def raise_exit(signum, frame):
    raise SystemExit(128 + signum)


def main():
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, raise_exit)
    work_dir = tempfile.mkdtemp(prefix="levee-gateway-bench-")
    try:
        run = run_benchmark(work_dir)
    finally:
        stop_all()
    write_report(run)
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
