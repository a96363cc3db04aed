"""Drives the overload benchmark: capacity search, open-loop steps, RSS sampling, report.

Run through bench/overload-bench.sh. Uses only the standard library. Every server it starts is
stopped on exit; every load step is bounded in time by the load generator itself.
"""
import datetime
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEP_SECONDS = float(os.environ.get("STEP_SECONDS", "30"))
SEARCH_SECONDS = float(os.environ.get("SEARCH_SECONDS", "10"))
SLO_MS = float(os.environ.get("SLO_MS", "150"))
MULTIPLES = [0.5, 1, 2, 5, 10]
MARK_START = "<!-- overload-bench:start -->"
MARK_END = "<!-- overload-bench:end -->"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `levee serve` process on a free loopback port."""

    def __init__(self, admission):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="levee-serve-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [os.path.join(ROOT, "levee"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--admission", admission],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"levee serve exited; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + "/v2/health/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError("levee serve did not become ready within 120 s")

    def java_pid(self):
        # ./levee execs java, so the launcher's pid is the JVM's.
        return self.process.pid

    def rss_mib(self):
        try:
            with open(f"/proc/{self.java_pid()}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return 0.0
        return 0.0

    def queue_depth(self):
        try:
            with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return -1
        total = 0.0
        for line in text.splitlines():
            if line.startswith("levee_queue_depth{") or line.startswith("levee_inflight{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def settle(self, limit_seconds=120):
        """Waits until no request is queued or running, so one step does not leak into the next."""
        deadline = time.time() + limit_seconds
        while time.time() < deadline and self.queue_depth() != 0:
            time.sleep(0.5)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def loadtest(url, rate, seconds, warmup=2.0):
    """Runs one open-loop step and returns its JSON result."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = out.name
    subprocess.run(
        [os.path.join(ROOT, "levee"), "loadtest", "--url", url, "--model", "minilm", "--rate", f"{rate:.1f}",
         "--duration-s", str(seconds), "--warmup-s", str(warmup), "--slo-ms", str(SLO_MS),
         "--timeout-ms", "10000", "--connections", "512", "--json", path],
        check=True, stdout=subprocess.DEVNULL)
    with open(path) as f:
        return json.load(f)["steps"][0]


def measured_step(server, rate, seconds):
    """A load step while sampling the server's resident memory every half second."""
    samples = []
    done = threading.Event()

    def sample():
        while not done.is_set():
            samples.append(server.rss_mib())
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = loadtest(server.url, rate, seconds)
    finally:
        done.set()
        sampler.join()
    result["rss_max_mib"] = max(samples) if samples else 0.0
    return result


def within_slo(step):
    return step["latency_ms"]["p99"] <= SLO_MS and step["ok"] > 0 and step["errors_total"] == 0 \
        and step["rejected_total"] <= 0.01 * step["sent"]


def find_capacity(server):
    """Highest rate whose ok p99 stays within the objective with at most 1% rejected, by bisection."""
    low, high = 20.0, 40.0
    trace = []
    while True:
        step = loadtest(server.url, high, SEARCH_SECONDS)
        trace.append((high, step))
        if not within_slo(step) or high > 5000:
            break
        low, high = high, high * 2
    for _ in range(5):
        mid = (low + high) / 2
        step = loadtest(server.url, mid, SEARCH_SECONDS)
        trace.append((mid, step))
        if within_slo(step):
            low = mid
        else:
            high = mid
        server.settle()
    return low, trace


def run_steps(server, capacity):
    results = []
    for multiple in MULTIPLES:
        server.settle()
        step = measured_step(server, capacity * multiple, STEP_SECONDS)
        step["multiple"] = multiple
        results.append(step)
        print(f"  {multiple:>4}C offered {step['offered_rps']:.0f}/s: ok {step['ok']}, goodput "
              f"{step['goodput_rps']:.1f}/s, p99 {step['latency_ms']['p99']:.1f} ms, rejected "
              f"{step['rejected_total']}, errors {step['errors_total']}, RSS {step['rss_max_mib']:.0f} MiB",
              flush=True)
    return results


def statuses(step):
    parts = [f"200: {step['ok']}"] + [f"{k}: {v}" for k, v in sorted(step["rejected"].items())]
    parts += [f"{k}: {v}" for k, v in sorted(step["errors"].items())]
    return ", ".join(parts)


def table(results):
    rows = ["| load | offered/s | goodput/s | ok p50 ms | ok p99 ms | rejection p99 ms | answers | RSS max MiB |",
            "|---|---|---|---|---|---|---|---|"]
    for s in results:
        rows.append(f"| {s['multiple']}C | {s['offered_rps']:.0f} | {s['goodput_rps']:.1f} | "
                    f"{s['latency_ms']['p50']:.1f} | {s['latency_ms']['p99']:.1f} | {s['rejected_p99_ms']:.1f} | "
                    f"{statuses(s)} | {s['rss_max_mib']:.0f} |")
    return "\n".join(rows)


def goals(capacity, results):
    by = {s["multiple"]: s for s in results}
    half, one, ten = by[0.5], by[1], by[10]
    other_statuses = [s for s in results if s["errors_total"] > 0
                      or any(k not in ("503", "504") for k in s["rejected"])]
    checks = [
        ("goodput at 10C >= 0.9 C", ten["goodput_rps"] / capacity, ten["goodput_rps"] >= 0.9 * capacity),
        ("ok p99 at 10C <= 2x ok p99 at 0.5C", ten["latency_ms"]["p99"] / max(half["latency_ms"]["p99"], 1e-9),
         ten["latency_ms"]["p99"] <= 2 * half["latency_ms"]["p99"]),
        ("rejection p99 at 10C <= 10 ms", ten["rejected_p99_ms"], ten["rejected_p99_ms"] <= 10),
        ("no status other than 200, 503, 504", len(other_statuses), not other_statuses),
        ("RSS at 10C <= 1.2x RSS at 1C", ten["rss_max_mib"] / max(one["rss_max_mib"], 1e-9),
         ten["rss_max_mib"] <= 1.2 * one["rss_max_mib"]),
    ]
    rows = ["| goal | measured | met |", "|---|---|---|"]
    for name, value, ok in checks:
        rows.append(f"| {name} | {value:.2f} | {'yes' if ok else 'no'} |")
    return "\n".join(rows)


def write_report(capacity, trace, on, off, command):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.+)", f.read())
            cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    search = ", ".join(f"{rate:.0f}/s: p99 {s['latency_ms']['p99']:.0f} ms, {s['rejected_total']} rejected"
                       for rate, s in trace)
    section = f"""{MARK_START}
## Overload: admission control against a naive queue

Measured {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on {os.cpu_count()} cores
({cpu}), Linux {platform.release()}, with `{command}`. The load generator (`levee loadtest`,
open loop, Poisson arrivals, latency from the intended send time) runs on the same machine as the
node, so both share the 2 cores. Model: built-in minilm, one short sentence per request.
Steps of {STEP_SECONDS:.0f} s after 2 s of unmeasured warm-up; objective {SLO_MS:.0f} ms.

Capacity C = **{capacity:.0f} requests/s**: the highest rate whose ok p99 stayed within {SLO_MS:.0f} ms
with at most 1% rejected (search steps of {SEARCH_SECONDS:.0f} s: {search}).

Admission control on (`levee serve`, predictive admission, the default):

{table(on)}

Admission control off (`levee serve --admission off`, a queue of up to 1,000,000 requests):

{table(off)}

Goals, admission control on:

{goals(capacity, on)}
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


def main():
    command = "bench/overload-bench.sh" + (f" (STEP_SECONDS={os.environ['STEP_SECONDS']})"
                                           if "STEP_SECONDS" in os.environ else "")
    server = Server("predictive")
    try:
        print("finding capacity...", flush=True)
        capacity, trace = find_capacity(server)
        print(f"capacity C = {capacity:.0f}/s; admission control on:", flush=True)
        on = run_steps(server, capacity)
    finally:
        server.stop()
    server = Server("off")
    try:
        print("admission control off:", flush=True)
        off = run_steps(server, capacity)
    finally:
        server.stop()
    write_report(capacity, trace, on, off, command)


if __name__ == "__main__":
    sys.exit(main())
