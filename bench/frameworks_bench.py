"""Drives the frameworks benchmark: Levee, MLServer, KServe and Ray Serve on one model, one run, ratios.

Run through bench/frameworks-bench.sh. Uses only the standard library here. The frameworks run from
virtual environments under .venv-bench/, one per framework because their pinned dependencies
conflict, which this driver creates from bench/requirements-frameworks-NAME.txt when missing or
out of date. Every server runs in a session of its own and every process of that session is
stopped when its part of the run ends, fails, or gets SIGINT, SIGTERM or SIGHUP. Every load step
is bounded in time by the load generator and by a wait limit here. Traffic goes to 127.0.0.1 only.
"""
import ctypes
import datetime
import hashlib
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
BENCH = os.path.join(ROOT, "bench")
FRAMEWORK_CODE = os.path.join(BENCH, "frameworks")
VENV_ROOT = os.path.join(ROOT, ".venv-bench")
MODEL_DIR = os.path.join(ROOT, "models", "breast_cancer")
MODEL_NAME = "breast_cancer"
MARK_START = "<!-- frameworks-bench:start -->"
MARK_END = "<!-- frameworks-bench:end -->"

SERVER_NAMES = ("levee", "mlserver", "kserve", "ray")
LABELS = {"levee": "Levee", "mlserver": "MLServer", "kserve": "KServe", "ray": "Ray Serve"}
MULTIPLES = (0.5, 1, 2, 5)
WARMUP_SECONDS = 2.0
LOADTEST_TIMEOUT_MS = 10000
# levee loadtest's default, written out so that the report can state it.
LOADTEST_CONNECTIONS = 256
MAX_REJECTED_SHARE = 0.01
# The search tries SEARCH_START_RPS, doubles until a rate misses the objective, then bisects.
SEARCH_START_RPS = 100.0
SEARCH_FACTOR = 2.0
SEARCH_MAX_MOVES = 10
SEARCH_BISECTIONS = 4
READY_LIMIT_SECONDS = 180
SETTLE_LIMIT_SECONDS = 60
STOP_LIMIT_SECONDS = 30
PIP_LIMIT_SECONDS = 900
# A server has settled when this many probes in a row return 200 within the probe limit.
SETTLE_PROBES = 3
SETTLE_MIN_LIMIT_MS = 20.0

# Processes started and not yet stopped, which stop_all ends when the run finishes or fails.
STARTED = []


def env_number(name, default, kind=float):
    text = os.environ.get(name, str(default))
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        sys.exit(f"frameworks-bench: {name}={text!r} is invalid; expected a positive "
                 f"{'whole number' if kind is int else 'number'}")
    return value


def env_servers():
    names = os.environ.get("SERVERS", " ".join(SERVER_NAMES)).split()
    unknown = [n for n in names if n not in SERVER_NAMES]
    if unknown or "levee" not in names:
        sys.exit(f"frameworks-bench: SERVERS={' '.join(names)!r} is invalid; expected levee and any of "
                 f"{', '.join(SERVER_NAMES[1:])}, separated by spaces")
    return [n for n in SERVER_NAMES if n in names]


STEP_SECONDS = env_number("STEP_SECONDS", 15)
SEARCH_SECONDS = env_number("SEARCH_SECONDS", 5)
SLO_MS = env_number("SLO_MS", 100)
SERVERS = env_servers()

with open(os.path.join(MODEL_DIR, "config.json")) as config_file:
    MODEL_CONFIG = json.load(config_file)
# Every framework batches with Levee's settings for the model, where it batches at all.
MAX_BATCH_SIZE = int(MODEL_CONFIG["max_batch_size"])
MAX_BATCH_DELAY_MS = float(MODEL_CONFIG["max_queue_delay_ms"])
with open(os.path.join(MODEL_DIR, "sample_request.json"), "rb") as sample_file:
    SAMPLE_REQUEST = sample_file.read()
# Labels of the two rows of the sample request (see models/breast_cancer/README.md).
SAMPLE_LABELS = [0, 1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_average():
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


# --- processes -------------------------------------------------------------------------------------

def session_pids(session_id):
    """Returns the ids of the running processes in session session_id."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                # The command name in brackets may contain spaces, so fields are counted after it.
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session_id and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def status_field(pid, name):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def exit_with_parent():
    """Asks the kernel to send SIGTERM to this child when the driver dies, even from SIGKILL."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start_process(args, log_path, env=None, cwd=None):
    """Starts args as the leader of a new session, with its output in log_path, and records it."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, env=env, cwd=cwd, preexec_fn=exit_with_parent)
    STARTED.append(process)
    return process


def signal_pids(pids, signum):
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def stop(process):
    """Sends SIGTERM to the leader's process group, then SIGKILL to every process left in its session.

    The session, not the group, is what covers all of a server's processes: Ray Serve's actors run
    in process groups of their own within the session.
    """
    if process in STARTED:
        STARTED.remove(process)
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=STOP_LIMIT_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    # Children may outlive the leader, so the session is swept after it has gone or timed out.
    deadline = time.time() + 10
    while time.time() < deadline:
        left = session_pids(process.pid)
        if not left:
            break
        signal_pids(left, signal.SIGKILL)
        time.sleep(0.2)
    if process.poll() is None:
        process.wait(timeout=10)


def stop_all():
    # A second Ctrl-C must not cut the cleanup short.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    for process in list(reversed(STARTED)):
        stop(process)


# --- virtual environments --------------------------------------------------------------------------

def requirements_path(name):
    return os.path.join(BENCH, f"requirements-frameworks-{name}.txt")


def venv_python(name):
    return os.path.join(VENV_ROOT, name, "bin", "python")


def ensure_venv(name, log_dir):
    """Returns the Python of .venv-bench/NAME, installing its pinned requirements when they changed.

    Raises RuntimeError with the end of pip's output when the installation fails.
    """
    venv = os.path.join(VENV_ROOT, name)
    python = venv_python(name)
    with open(requirements_path(name), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(venv, "requirements.sha256")
    if os.path.exists(python) and os.path.exists(stamp) and open(stamp).read().strip() == digest:
        return python
    print(f"  installing {os.path.relpath(requirements_path(name), ROOT)} into "
          f"{os.path.relpath(venv, ROOT)}", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    log_path = os.path.join(log_dir, f"pip-{name}.log")
    with open(log_path, "wb") as log:
        steps = [[sys.executable, "-m", "venv", venv],
                 [python, "-m", "pip", "install", "--quiet", "-r", requirements_path(name)]]
        for step in steps:
            try:
                result = subprocess.run(step, stdout=log, stderr=subprocess.STDOUT, timeout=PIP_LIMIT_SECONDS)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"`{' '.join(step[-3:])}` did not finish within {PIP_LIMIT_SECONDS} s")
            if result.returncode != 0:
                with open(log_path, errors="replace") as f:
                    tail = " ".join(f.read().split()[-40:])
                raise RuntimeError(f"`{' '.join(step[-3:])}` failed with status {result.returncode}: {tail}")
    with open(stamp, "w") as f:
        f.write(digest + "\n")
    return python


def package_versions(python, packages):
    code = ("import importlib.metadata as m, json, sys\n"
            "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))")
    result = subprocess.run([python, "-c", code, *packages], capture_output=True, text=True, timeout=60)
    return json.loads(result.stdout) if result.returncode == 0 else {}


# --- servers ---------------------------------------------------------------------------------------

class Server:
    """One framework's server process tree on a free loopback port, with its log in work_dir."""

    def __init__(self, name, label, setup, versions, work_dir):
        self.name = name
        self.label = label
        self.setup = setup
        self.versions = versions
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.work_dir = work_dir
        self.log_path = os.path.join(work_dir, f"{name}.log")
        self.process = None
        self.probe_limit_ms = None

    def start(self, args, env=None, cwd=None):
        self.process = start_process(args, self.log_path, env=env, cwd=cwd)

    def pids(self):
        return session_pids(self.process.pid)

    def rss_mib(self):
        return sum(status_field(pid, "VmRSS") for pid in self.pids()) / 1024

    def threads(self):
        return sum(status_field(pid, "Threads") for pid in self.pids())

    def infer(self, timeout):
        """Sends the sample request; returns (status, seconds, body), status None when unreachable."""
        request = urllib.request.Request(self.url + f"/v2/models/{MODEL_NAME}/infer", data=SAMPLE_REQUEST,
                                         headers={"Content-Type": "application/json"}, method="POST")
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as r:
                body = r.read()
                return r.status, time.perf_counter() - start, body
        except urllib.error.HTTPError as e:
            return e.code, time.perf_counter() - start, b""
        except OSError:
            return None, time.perf_counter() - start, b""

    def wait_ready(self):
        """Waits until the sample request returns the expected labels, then measures its idle latency."""
        deadline = time.time() + READY_LIMIT_SECONDS
        last = "no response"
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited with status {self.process.returncode}; see {self.log_path}")
            status, _, body = self.infer(timeout=5)
            if status == 200:
                labels = labels_of(body)
                if labels == SAMPLE_LABELS:
                    break
                raise RuntimeError(f"{self.label} returned labels {labels} for the sample request; "
                                   f"expected {SAMPLE_LABELS}")
            last = f"status {status}"
            time.sleep(0.5)
        else:
            raise RuntimeError(f"{self.label} did not return 200 for the sample request within {READY_LIMIT_SECONDS} s "
                               f"(last: {last}); see {self.log_path}")
        idle = sorted(self.infer(timeout=5)[1] for _ in range(7))
        self.probe_limit_ms = max(3 * 1000 * statistics.median(idle), SETTLE_MIN_LIMIT_MS)

    def settle(self):
        """Waits until SETTLE_PROBES probes in a row return 200 within the probe limit, so steps do not overlap.

        Returns False when the server did not settle within SETTLE_LIMIT_SECONDS.
        """
        deadline = time.time() + SETTLE_LIMIT_SECONDS
        in_a_row = 0
        while time.time() < deadline:
            status, seconds, _ = self.infer(timeout=5)
            in_a_row = in_a_row + 1 if status == 200 and 1000 * seconds <= self.probe_limit_ms else 0
            if in_a_row >= SETTLE_PROBES:
                return True
            time.sleep(0.2)
        print(f"    {self.label} did not settle within {SETTLE_LIMIT_SECONDS} s", flush=True)
        return False


def labels_of(body):
    try:
        outputs = {o["name"]: o for o in json.loads(body)["outputs"]}
        return [int(v) for v in outputs["label"]["data"]]
    except (ValueError, KeyError, TypeError):
        return None


def write_model_copy(folder):
    """Copies the breast_cancer ONNX file to folder and returns its path."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    shutil.copyfile(os.path.join(MODEL_DIR, "1", "model.onnx"), path)
    return path


def python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = FRAMEWORK_CODE
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_levee(work_dir):
    repository = os.path.join(work_dir, "levee-models")
    model = os.path.join(repository, MODEL_NAME)
    write_model_copy(os.path.join(model, "1"))
    shutil.copyfile(os.path.join(MODEL_DIR, "config.json"), os.path.join(model, "config.json"))
    version = subprocess.run([LEVEE, "--version"], capture_output=True, text=True).stdout.strip()
    cores = os.cpu_count()
    threads = max(1, cores - 1)
    server = Server("levee", "Levee", f"`levee serve`, one JVM: {cores} Vert.x event loops, one model instance "
                    f"with {threads} ONNX Runtime intra-op thread{'s' if threads > 1 else ''}; dynamic batching "
                    f"(max {MAX_BATCH_SIZE} rows, {MAX_BATCH_DELAY_MS:g} ms max queue delay) and predictive "
                    f"admission control (503 beyond capacity), both by default",
                    {"levee": version.split()[-1] if version else "unknown", "java": java_version(),
                     "onnxruntime (Java)": onnxruntime_java_version()}, work_dir)
    # --exit-with-parent (the flag levee cluster gives its nodes) makes the node exit when the driver dies.
    server.start([LEVEE, "serve", "--host", "127.0.0.1", "--port", str(server.port), "--model-repository",
                  repository, "--drain-seconds", "0", "--exit-with-parent"])
    return server


def start_mlserver(work_dir):
    python = venv_python("mlserver")
    repository = os.path.join(work_dir, "mlserver-models")
    model_path = write_model_copy(os.path.join(repository, MODEL_NAME))
    settings = {"host": "127.0.0.1", "http_port": free_port(), "grpc_port": free_port(),
                "metrics_port": free_port(), "parallel_workers": 1, "debug": False}
    model_settings = {"name": MODEL_NAME, "implementation": "mlserver_runtime.OnnxRuntimeModel",
                      "max_batch_size": MAX_BATCH_SIZE, "max_batch_time": MAX_BATCH_DELAY_MS / 1000,
                      "parameters": {"uri": model_path}}
    with open(os.path.join(repository, MODEL_NAME, "model-settings.json"), "w") as f:
        json.dump(model_settings, f)
    versions = package_versions(python, ["mlserver", "onnxruntime", "uvicorn", "uvloop", "fastapi"])
    server = Server("mlserver", "MLServer",
                    "`mlserver start`: one process for REST (uvicorn, one event loop) and the adaptive batcher, "
                    f"plus one inference worker process (`parallel_workers: 1`, the default); adaptive batching "
                    f"on (`max_batch_size: {MAX_BATCH_SIZE}`, `max_batch_time: {MAX_BATCH_DELAY_MS / 1000:g}`); "
                    "custom runtime `bench/frameworks/mlserver_runtime.py`", versions, work_dir)
    settings["http_port"] = server.port
    with open(os.path.join(repository, "settings.json"), "w") as f:
        json.dump(settings, f)
    server.start([os.path.join(os.path.dirname(python), "mlserver"), "start", repository],
                 env=python_env(), cwd=repository)
    return server


def start_kserve(work_dir):
    python = venv_python("kserve")
    model_path = write_model_copy(os.path.join(work_dir, "kserve-model"))
    workers = os.cpu_count()
    versions = package_versions(python, ["kserve", "onnxruntime", "uvicorn", "fastapi"])
    server = Server("kserve", "KServe",
                    f"`kserve.ModelServer` with `--workers {workers}`: {workers} uvicorn processes, each decoding "
                    "REST and running the model on its event loop; no request batching (the Python server "
                    "has none); gRPC off; `bench/frameworks/kserve_server.py`", versions, work_dir)
    server.start([python, os.path.join(FRAMEWORK_CODE, "kserve_server.py"), "--model_path", model_path,
                  "--http_port", str(server.port), "--workers", str(workers), "--enable_grpc", "false",
                  "--enable_latency_logging", "false"], env=python_env(), cwd=work_dir)
    return server


def start_ray(work_dir):
    python = venv_python("ray")
    model_path = write_model_copy(os.path.join(work_dir, "ray-model"))
    versions = package_versions(python, ["ray", "onnxruntime", "uvicorn", "starlette"])
    server = Server("ray", "Ray Serve",
                    "`serve.run` of one deployment with one replica (`num_cpus: 1`, `max_ongoing_requests: "
                    f"{2 * MAX_BATCH_SIZE}`) behind Ray Serve's HTTP proxy, plus Ray's controller, GCS and "
                    f"raylet processes; `@serve.batch` with max {MAX_BATCH_SIZE} requests and "
                    f"{MAX_BATCH_DELAY_MS / 1000:g} s `batch_wait_timeout_s`; a v2-shaped JSON endpoint of "
                    "this benchmark's own, not the v2 protocol (`bench/frameworks/ray_server.py`)",
                    versions, work_dir)
    temp_dir = os.path.join(work_dir, "ray-temp")
    server.start([python, os.path.join(FRAMEWORK_CODE, "ray_server.py"), "--model-path", model_path,
                  "--port", str(server.port), "--max-batch-size", str(MAX_BATCH_SIZE),
                  "--max-batch-wait-s", str(MAX_BATCH_DELAY_MS / 1000), "--temp-dir", temp_dir],
                 env=python_env(), cwd=work_dir)
    return server


STARTERS = {"levee": start_levee, "mlserver": start_mlserver, "kserve": start_kserve, "ray": start_ray}


def java_version():
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else "java"
    try:
        result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return "unknown"
    first = (result.stderr or result.stdout).splitlines()
    return first[0].strip() if first else "unknown"


def onnxruntime_java_version():
    with open(os.path.join(ROOT, "pom.xml")) as f:
        m = re.search(r"<onnxruntime.version>([^<]+)<", f.read())
    return m.group(1) if m else "unknown"


# --- load ------------------------------------------------------------------------------------------

def loadtest(url, rate, seconds):
    """Runs one open-loop step of the built-in breast_cancer body and returns its JSON result."""
    fd, path = tempfile.mkstemp(prefix="levee-loadtest-", suffix=".json")
    os.close(fd)
    try:
        return run_loadtest(path, url, rate, seconds)
    finally:
        os.remove(path)


def run_loadtest(json_path, url, rate, seconds):
    args = [LEVEE, "loadtest", "--url", url, "--model", MODEL_NAME, "--rate", f"{rate:.1f}",
            "--duration-s", str(seconds), "--warmup-s", str(WARMUP_SECONDS), "--slo-ms", str(SLO_MS),
            "--timeout-ms", str(LOADTEST_TIMEOUT_MS), "--connections", str(LOADTEST_CONNECTIONS),
            "--json", json_path]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    STARTED.append(process)
    # Warm-up, the step, the wait for late responses, and time for the JVM to start and stop.
    limit = WARMUP_SECONDS + seconds + LOADTEST_TIMEOUT_MS / 1000 + 60
    try:
        _, stderr = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        stop(process)
        raise RuntimeError(f"levee loadtest at {rate:.1f}/s did not finish within {limit:.0f} s")
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


def find_capacity(server):
    """Finds the highest rate whose ok p99 stays within the objective with at most 1% rejected and no error.

    Doubles from SEARCH_START_RPS until one rate misses, or halves until one meets, then bisects
    SEARCH_BISECTIONS times. Returns the rate, the trace of (rate, step) tried, and whether every
    rate up to the last met the objective, so that the rate is only a lower bound.
    """
    trace = []

    def meets(rate):
        server.settle()
        step = loadtest(server.url, rate, SEARCH_SECONDS)
        trace.append((rate, step))
        ok = within_objective(step)
        print(f"    {rate:7.1f}/s: {describe(step)}: {'met' if ok else 'missed'}", flush=True)
        return ok

    rate = SEARCH_START_RPS
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
        raise RuntimeError(f"no rate down to {rate:.1f}/s met the objective at {server.url}; see {server.log_path}")
    if high is None:
        return low, trace, True
    for _ in range(SEARCH_BISECTIONS):
        mid = (low + high) / 2
        if meets(mid):
            low = mid
        else:
            high = mid
    return low, trace, False


def measure(server):
    """Searches a started server's capacity, then runs one step at each multiple of it."""
    result = {"load_before": load_average(), "processes": len(server.pids()), "threads": server.threads(),
              "rss_idle_mib": server.rss_mib()}
    print(f"  ready; {result['processes']} processes, {result['threads']} threads, "
          f"{result['rss_idle_mib']:.0f} MiB RSS; searching capacity", flush=True)
    capacity, trace, lower_bound = find_capacity(server)
    result.update(capacity=capacity, trace=trace, lower_bound=lower_bound, steps=[])
    print(f"  capacity {capacity:.1f}/s{' (lower bound)' if lower_bound else ''}", flush=True)
    for multiple in MULTIPLES:
        settled = server.settle()
        rss_before = server.rss_mib()
        step = loadtest(server.url, capacity * multiple, STEP_SECONDS)
        step.update(multiple=multiple, rss_before_mib=rss_before, rss_after_mib=server.rss_mib(), settled=settled)
        result["steps"].append(step)
        print(f"  {multiple:g}x: {describe(step)}, RSS {rss_before:.0f} -> {step['rss_after_mib']:.0f} MiB",
              flush=True)
    result["load_after"] = load_average()
    return result


# --- report ----------------------------------------------------------------------------------------

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


def responses(step):
    parts = [f"200: {step['ok']}"] + [f"{k}: {v}" for k, v in sorted(step["rejected"].items())]
    parts += [f"{k}: {v}" for k, v in sorted(step["errors"].items())]
    return ", ".join(parts)


def capacity_text(result):
    return (">= " if result["lower_bound"] else "") + f"{result['capacity']:.0f}"


def steps_table(measured):
    rows = ["| server | capacity/s | load | offered/s | sent/s | goodput/s | ok p50 ms | ok p99 ms | responses "
            "| RSS before -> after MiB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for server, result in measured:
        for s in result["steps"]:
            rows.append(f"| {server.label} | {capacity_text(result)} | {s['multiple']:g}x | {s['offered_rps']:.0f} | "
                        f"{s['sent_rps']:.0f} | {s['goodput_rps']:.1f} | {s['latency_ms']['p50']:.1f} | "
                        f"{s['latency_ms']['p99']:.1f} | {responses(s)} | "
                        f"{s['rss_before_mib']:.0f} -> {s['rss_after_mib']:.0f} |")
    return "\n".join(rows)


def step_at(result, multiple):
    return next(s for s in result["steps"] if s["multiple"] == multiple)


def ratios_table(measured):
    levee = measured[0][1]
    levee_p99 = step_at(levee, 0.5)["latency_ms"]["p99"]
    rows = ["| server | capacity/s | Levee capacity / its capacity | goodput at 5x / its capacity "
            "| ok p99 at 0.5x ms | its ok p99 at 0.5x / Levee's |",
            "|---|---:|---:|---:|---:|---:|"]
    for server, result in measured:
        half = step_at(result, 0.5)["latency_ms"]["p99"]
        five = step_at(result, 5)["goodput_rps"] / result["capacity"]
        rows.append(f"| {server.label} | {capacity_text(result)} | {levee['capacity'] / result['capacity']:.2f} | "
                    f"{five:.2f} | {half:.1f} | {half / max(levee_p99, 1e-9):.2f} |")
    return "\n".join(rows)


def setup_lines(measured):
    lines = []
    for server, result in measured:
        versions = ", ".join(f"{k} {v}" for k, v in server.versions.items())
        lines.append(f"- {server.label} ({versions}): {server.setup}. At ready: processes {result['processes']}, "
                     f"threads {result['threads']}, RSS {result['rss_idle_mib']:.0f} MiB. Load average before "
                     f"its part: {result['load_before']}; after: {result['load_after']}.")
    return "\n".join(lines)


def search_lines(measured):
    lines = []
    for server, result in measured:
        steps = ", ".join(f"{rate:.0f}/s (p99 {s['latency_ms']['p99']:.0f} ms, {s['rejected_total']} rejected, "
                          + (f"{s['errors_total']} errors, " if s["errors_total"] else "")
                          + ("met)" if within_objective(s) else "missed)")
                          for rate, s in result["trace"])
        lines.append(f"- {server.label}: {steps}.")
    return "\n".join(lines)


def skipped_lines(skipped):
    if not skipped:
        return ""
    lines = "\n".join(f"- {label}: {reason}" for label, reason in skipped)
    return f"\nNot measured in this run:\n\n{lines}\n"


def unsettled_note(measured):
    late = [f"{server.label} before {s['multiple']:g}x" for server, result in measured for s in result["steps"]
            if not s["settled"]]
    if not late:
        return ""
    return (f"\nNOTE: these servers still responded to probes slowly {SETTLE_LIMIT_SECONDS} s after the previous step, "
            f"so that step started with work left over: {', '.join(late)}.\n")


def observation_lines(measured):
    """Lists, from the steps' numbers, the points a reader should not miss in the tables."""
    overload = [f"{server.label} {sum(step_at(r, m)['rejected_total'] for m in (2, 5))}" for server, r in measured]
    lines = [f"- Requests rejected (429, 503 or 504) at 2x and 5x together: {', '.join(overload)}."]
    above = [f"{server.label} at {s['multiple']:g}x ({s['goodput_rps']:.0f}/s against {r['capacity']:.0f}/s)"
             for server, r in measured for s in r["steps"] if s["goodput_rps"] > 1.05 * r["capacity"]]
    if above:
        lines.append(f"- Goodput above the server's capacity, so the search's {SEARCH_SECONDS:g} s steps put its "
                     f"capacity too low: {', '.join(above)}.")
    missed = [f"{server.label} at {s['multiple']:g}x ({s['latency_ms']['p99']:.0f} ms)"
              for server, r in measured for s in r["steps"]
              if s["multiple"] <= 1 and s["latency_ms"]["p99"] > SLO_MS]
    if missed:
        lines.append(f"- Ok p99 above the {SLO_MS:g} ms objective at 0.5x or 1x, although a search step at the "
                     f"capacity rate met it: {', '.join(missed)}. So one step's p99 is not a stable number on this "
                     "machine.")
    return "\n".join(lines)


def save_results(run):
    """Writes every step's numbers to bench/out/frameworks-bench.json, which git ignores."""
    folder = os.path.join(ROOT, "bench", "out")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "frameworks-bench.json")
    data = {key: value for key, value in run.items() if key != "measured"}
    data["servers"] = [{"name": server.name, "versions": server.versions, "setup": server.setup,
                        **{k: v for k, v in result.items() if k != "trace"},
                        "trace": [{"rate": rate, "step": step} for rate, step in result["trace"]]}
                       for server, result in run["measured"]]
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    print(f"wrote {path}")


def command_line():
    settings = [f"{name}={os.environ[name]}" for name in ("STEP_SECONDS", "SEARCH_SECONDS", "SLO_MS", "SERVERS")
                if name in os.environ]
    return " ".join(settings + ["bench/frameworks-bench.sh"])


def write_report(run):
    measured = run["measured"]
    section = f"""{MARK_START}
## Levee against other v2 servers: MLServer, KServe, Ray Serve

Written by `bench/frameworks-bench.sh` on {run['date']}, commit {run['commit']}; the run took
{run['minutes']:.0f} minutes.

- Command: `{command_line()}`
- Machine: {os.cpu_count()} cores ({cpu_model()}), Linux {platform.release()}, Python
  {platform.python_version()}. Load average (1, 5 and 15 min) before the run: {run['load_before']}, which
  is other work only; after it, including this run's own load: {run['load_after']}. The machine is
  shared with other work, so the ratios within this run matter more than the absolute numbers.
- Model: the built-in `breast_cancer` ONNX classifier (30 FP32 features in, `label` and
  `probabilities` out), the same file for every server, run by ONNX Runtime with the same session
  options as Levee's (intra-op threads: the processors less one; inter-op threads: 1; spinning off;
  `bench/frameworks/onnx_session.py`). Each request carries one row, the body that
  `levee loadtest --model {MODEL_NAME}` sends to `POST /v2/models/{MODEL_NAME}/infer`. Before its
  load, each server had to return the expected labels for the two rows of
  `models/breast_cancer/sample_request.json`; responses under load were counted by status only.
- Load: `levee loadtest` (open loop, Poisson arrivals, latency from each request's intended send
  time, at most {LOADTEST_CONNECTIONS} HTTP/1.1 connections, {LOADTEST_TIMEOUT_MS / 1000:g} s client timeout) on the same
  machine, so the load generator's JVM shares the {os.cpu_count()} cores with the server under test. One server
  runs at a time.
- Objective: ok p99 <= {SLO_MS:g} ms, at most {100 * MAX_REJECTED_SHARE:g}% of requests rejected
  (429, 503 or 504) and no other error. Capacity is the highest rate that met it in search steps
  of {SEARCH_SECONDS:g} s: from {SEARCH_START_RPS:g}/s the rate doubles until one misses, then
  {SEARCH_BISECTIONS} bisections. Then one {STEP_SECONDS:g} s step each at 0.5x, 1x, 2x and 5x of that
  server's own capacity. Every step starts with {WARMUP_SECONDS:g} s of unmeasured warm-up at its rate, and waits
  until the server returns 200 to {SETTLE_PROBES} probe requests in a row within 3 times its idle latency
  (at least {SETTLE_MIN_LIMIT_MS:g} ms), at most {SETTLE_LIMIT_SECONDS} s.
- Goodput: ok responses within the objective per second. Responses: `200` is ok, and `503` and
  others are rejections. `timeout` counts requests without a response within the client timeout,
  and `unanswered` requests still open when the step's wait ended. `connection_closed` and other
  kinds are transport errors. Sent/s below offered/s means that the load generator fell behind its
  schedule. RSS: the sum over all processes of the server, just before and just after the step.

Servers, their versions, and the processes and threads each one ran:

{setup_lines(measured)}

### Ratios

{ratios_table(measured)}

### Steps at multiples of each server's capacity

{steps_table(measured)}
{unsettled_note(measured)}
In this run:

{observation_lines(measured)}

Search steps:

{search_lines(measured)}
{skipped_lines(run['skipped'])}
### What is and is not comparable

- Same: the model file, ONNX Runtime's version and session options, the request body, the
  load generator and its settings, the machine, the objective and the search. Every server may use
  all {os.cpu_count()} cores. Each was set up with as many busy processes or threads as the machine has cores:
  Levee's event loops, MLServer's REST process and inference worker, KServe's {os.cpu_count()} workers, and
  Ray Serve's proxy and replica.
- Batching differs. Levee and MLServer batch with the same limits (max {MAX_BATCH_SIZE} rows,
  {MAX_BATCH_DELAY_MS:g} ms wait), and Ray Serve's `@serve.batch` uses the same numbers. KServe's
  Python server does not batch, so it runs the model once per request.
- Overload handling differs. Levee's admission control rejects with 503 and Retry-After what
  its model queue cannot serve within the queue delay target. MLServer, KServe and Ray Serve have
  no admission control in these setups, so they queue, and a request that waits past the client's
  {LOADTEST_TIMEOUT_MS / 1000:g} s timeout is counted as `timeout`. For every server, at most
  {LOADTEST_CONNECTIONS} requests are open at once because the load generator has that many connections.
  Further requests wait in the load generator, where no server can reject them, and that wait counts in
  their latency. So an ok latency can exceed the client timeout, which starts only when a request is
  sent on a connection. Goodput at 5x shows how much of its capacity each server keeps, at 5 times
  that server's own capacity, so the absolute rates differ between servers.
- Levee's admission control predicts the delay of the model's queue and rejects requests that
  would wait past its target. Requests that wait before that queue (in the load generator, in
  socket buffers, or behind a busy event loop) are not in it, so nothing rejects them. With a model
  this small, HTTP handling and the load generator, which share the cores, may use them up before
  the model's queue grows. This run did not measure where requests waited.
- The Python servers run their REST layer and batching in CPython, where one process runs Python
  code on one core at a time because of the GIL. The multi-process setups above are how each
  framework spreads work over cores.
- Ray Serve does not speak the v2 protocol: its endpoint here is this benchmark's own v2-shaped
  JSON handler, which skips v2's validation, and every request crosses from Ray's proxy process to the replica
  process. Its Ray processes (GCS, raylet, controller, agents) count in its RSS.
- KServe 0.21.0 binds its REST port to 0.0.0.0 and has no option to change it, so while it ran it
  listened on every interface; the load still went only to 127.0.0.1.
- MLServer 1.7.1 does not start its inference workers with uvloop 0.23.0, which pip picks by
  default, because `mlserver/parallel/worker.py` calls `asyncio.get_event_loop()` in the new worker
  process and uvloop raises there. With uvloop 0.21.0 they start, so its requirements pin that.
- Levee's JVM has more threads than its configured workers (garbage collector, JIT compiler);
  the thread counts above include every thread of each server.
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


# --- run -------------------------------------------------------------------------------------------

def run_benchmark(work_dir):
    started = time.time()
    run = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "commit": git_commit(), "load_before": load_average(), "measured": [], "skipped": []}
    # All installations come first, so that none of them runs during a measurement.
    installed = ["levee"]
    for name in SERVERS[1:]:
        try:
            ensure_venv(name, work_dir)
            installed.append(name)
        except RuntimeError as e:
            print(f"  {name} not installed: {e}", flush=True)
            run["skipped"].append((LABELS[name], f"installation failed: {e}"))
    for name in installed:
        print(f"{name}:", flush=True)
        server = None
        try:
            server = STARTERS[name](work_dir)
            server.wait_ready()
            run["measured"].append((server, measure(server)))
        except RuntimeError as e:
            # Levee is the reference of every ratio, so the run cannot go on without it.
            if name == "levee":
                raise
            print(f"  {name} not measured: {e}", flush=True)
            run["skipped"].append((LABELS[name], str(e)))
        finally:
            if server and server.process:
                stop(server.process)
    run["load_after"] = load_average()
    run["minutes"] = (time.time() - started) / 60
    return run


def raise_exit(signum, frame):
    raise SystemExit(128 + signum)


def main():
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, raise_exit)
    # A short path, because Ray's Unix socket paths under it must stay within 107 bytes.
    work_dir = tempfile.mkdtemp(prefix="levee-fw-bench-")
    print(f"logs in {work_dir}", flush=True)
    try:
        run = run_benchmark(work_dir)
    finally:
        stop_all()
    save_results(run)
    write_report(run)
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
