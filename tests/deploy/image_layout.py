"""Checks the container image's runtime stage without a container engine.

Reads the repository's Dockerfile and copies the files that its runtime stage takes from the
build stage into a temporary folder laid out like the image. Then it runs the image's ENTRYPOINT
and CMD from there, with the image's ENV, USER and WORKDIR. A node started that way must become
ready on a loopback port and respond to inference requests. A gateway started the same way must
route to it, and both must drain and exit on SIGTERM.

What differs from the image: the JDK under JAVA_HOME stands for the image's JRE, the host's
libraries for Ubuntu's, and the node listens on 127.0.0.1 and a free port, not 0.0.0.0:8000.
Needs the jars built under levee-cli/target first.

With --compose RESOLVED_YAML (the compose file as `validate compose` prints it), it also runs the
compose file's healthcheck commands against the node and the gateway, as the image's user: they
must pass while each is ready, and the node's must fail once it drains.
"""

import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
READY_TIMEOUT_S = 180
DRAIN_SECONDS = 2
EXIT_TIMEOUT_S = DRAIN_SECONDS + 30


class Stage:
    def __init__(self, base, name):
        self.base = base
        self.name = name
        self.workdir = "/"
        self.copies = []  # (from_stage, sources, destination)
        self.env = {}
        self.user = None
        self.exposed = []
        self.entrypoint = None
        self.cmd = None


def logical_lines(text):
    """Yields the Dockerfile's instructions with continuation lines joined and comments dropped."""
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or not line:
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def parse_dockerfile(text):
    stages = []
    for line in logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
            continue
        if not stages:
            continue
        stage = stages[-1]
        if keyword == "WORKDIR":
            stage.workdir = rest
        elif keyword == "COPY":
            words = shlex.split(rest)
            from_stage = None
            while words and words[0].startswith("--"):
                flag = words.pop(0)
                if flag.startswith("--from="):
                    from_stage = flag[len("--from="):]
            stage.copies.append((from_stage, words[:-1], words[-1]))
        elif keyword == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                stage.env[key] = value
        elif keyword == "USER":
            stage.user = rest
        elif keyword == "EXPOSE":
            stage.exposed.extend(rest.split())
        elif keyword == "ENTRYPOINT":
            stage.entrypoint = json.loads(rest)
        elif keyword == "CMD":
            stage.cmd = json.loads(rest)
    return stages


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=10):
    """Returns (status, body as text) of one request; connection errors raise OSError."""
    data = None if body is None else body.encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_until(description, condition, process, timeout_s, log):
    """Polls condition every 250 ms until it holds, the process exits or timeout_s passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{description}: the process exited with code {process.returncode}; "
                                 f"last lines of {log}:\n{tail(log)}")
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{description}: not reached within {timeout_s} s; last lines of {log}:\n{tail(log)}")


def tail(path, lines=20):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError as e:
        return f"(cannot read: {e})"


class ImageLayout:
    """The runtime stage's files under a temporary root, and the command lines to run them."""

    def __init__(self, stages, root):
        self.build = next((s for s in stages if s.name == "build"), None)
        self.runtime = stages[-1]
        self.root = root
        check(self.build is not None, "Dockerfile: no stage named 'build'")

    def host_path(self, container_path):
        return self.root / container_path.lstrip("/")

    def copy_files(self):
        copied = 0
        for from_stage, sources, destination in self.runtime.copies:
            check(from_stage == "build", f"COPY {sources}: expected --from=build, found --from={from_stage}")
            for source in sources:
                relative = os.path.relpath(source, self.build.workdir)
                check(not relative.startswith(".."),
                      f"COPY {source}: outside the build stage's WORKDIR {self.build.workdir}")
                host_source = ROOT / relative
                check(host_source.exists(), f"COPY {source}: {host_source} does not exist; build the jars first")
                target = self.host_path(destination)
                if host_source.is_dir():
                    # COPY of a folder copies its contents into the destination folder.
                    shutil.copytree(host_source, target, dirs_exist_ok=True)
                else:
                    if destination.endswith("/"):
                        target = target / host_source.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(host_source, target)
                copied += 1
        return copied

    def jar(self):
        entrypoint = self.runtime.entrypoint
        check("-jar" in entrypoint, f"ENTRYPOINT {entrypoint}: expected java -jar")
        return entrypoint[entrypoint.index("-jar") + 1]

    def command(self, java, args):
        entrypoint = self.runtime.entrypoint
        check(entrypoint[0] == "java", f"ENTRYPOINT {entrypoint}: expected java first")
        mapped = [str(self.host_path(a)) if a.startswith("/") else a for a in entrypoint[1:]]
        return [java] + mapped + args

    def environment(self, home):
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
        for key, value in self.runtime.env.items():
            env[key] = str(self.host_path(value)) if value.startswith("/") else value
        return env


def check_stages(stages):
    runtime = stages[-1]
    check(runtime.base.startswith("eclipse-temurin:25-jre"),
          f"runtime stage: base image {runtime.base} (expected: eclipse-temurin:25-jre...)")
    check(stages[0].base.startswith("eclipse-temurin:25-jdk"),
          f"build stage: base image {stages[0].base} (expected: eclipse-temurin:25-jdk)")
    check(runtime.user is not None, "runtime stage: no USER, so the server would run as root")
    uid = runtime.user.split(":")[0]
    check(uid.isdigit() and int(uid) != 0,
          f"USER {runtime.user}: expected a numeric uid other than 0, so Kubernetes' runAsNonRoot can verify it")
    check("8000" in runtime.exposed, f"EXPOSE {runtime.exposed}: expected 8000")
    check(runtime.cmd == ["serve"], f"CMD {runtime.cmd}: expected [\"serve\"]")
    return int(uid)


def manifest_class_path(jar):
    with zipfile.ZipFile(jar) as z:
        text = z.read("META-INF/MANIFEST.MF").decode()
    # Manifest lines longer than 72 bytes continue on lines that start with one space.
    text = text.replace("\r\n", "\n").replace("\n ", "")
    for line in text.splitlines():
        if line.startswith("Class-Path:"):
            return line[len("Class-Path:"):].split()
    return []


def start(command, env, cwd, uid, log):
    prefix = []
    if os.geteuid() == 0:
        prefix = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
    out = open(log, "wb")
    return subprocess.Popen(prefix + command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def compose_healthchecks(path):
    """Returns {service: argv} of the CMD-form healthchecks in a resolved compose file."""
    import yaml  # only this option needs PyYAML

    services = yaml.safe_load(Path(path).read_text())["services"]
    checks = {}
    for name in ("node", "gateway"):
        test = services[name]["healthcheck"]["test"]
        check(test[0] == "CMD", f"compose {name} healthcheck {test}: expected the CMD form")
        checks[name] = test[1:]
    return checks


def run_healthcheck(argv, port, env, uid):
    """Runs a compose healthcheck aimed at port 8000 against port; returns its exit code."""
    aimed = [a.replace("/dev/tcp/127.0.0.1/8000", f"/dev/tcp/127.0.0.1/{port}") for a in argv]
    check(aimed != argv, f"healthcheck {argv}: no /dev/tcp/127.0.0.1/8000 to aim at the test's port")
    prefix = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + aimed, env=env, timeout=10, capture_output=True).returncode


def stop(process):
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def begin_drain(name, process, base, log):
    """Sends SIGTERM and waits until /v2/health/ready reports 503; returns the monotonic time of the signal."""
    process.send_signal(signal.SIGTERM)
    sigterm_at = time.monotonic()
    wait_until(f"{name} not ready after SIGTERM",
               lambda: http("GET", base + "/v2/health/ready", timeout=2)[0] == 503, process, 2, log)
    return sigterm_at


def await_drained_exit(name, process, sigterm_at, log):
    """Checks that the process exits cleanly, and not before its drain ended."""
    try:
        code = process.wait(timeout=EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{name} still running {EXIT_TIMEOUT_S} s after SIGTERM; log:\n{tail(log)}")
    waited = time.monotonic() - sigterm_at
    check(code in (0, 128 + signal.SIGTERM), f"{name} exit code after SIGTERM: {code}")
    check(waited >= DRAIN_SECONDS - 0.5,
          f"{name} exited {waited:.1f} s after SIGTERM, before its {DRAIN_SECONDS} s drain")
    print(f"image layout: {name} drained and exited {waited:.1f} s after SIGTERM (drain: {DRAIN_SECONDS} s)")


def main():
    healthchecks = {}
    if len(sys.argv) == 3 and sys.argv[1] == "--compose":
        healthchecks = compose_healthchecks(sys.argv[2])
    java_home = os.environ.get("JAVA_HOME")
    check(java_home, "JAVA_HOME is not set")
    java = str(Path(java_home) / "bin" / "java")
    stages = parse_dockerfile(DOCKERFILE.read_text())
    uid = check_stages(stages)
    if os.geteuid() != 0:
        print(f"image layout: not root, so the processes run as uid {os.geteuid()}, not the image's {uid}")

    root = Path(tempfile.mkdtemp(prefix="levee-image-"))
    os.chmod(root, 0o755)
    node = gateway = None
    try:
        layout = ImageLayout(stages, root)
        copied = layout.copy_files()
        jar = layout.host_path(layout.jar())
        check(jar.is_file(), f"ENTRYPOINT runs {layout.jar()}, which no COPY provides")
        missing = [p for p in manifest_class_path(jar) if not (jar.parent / p).is_file()]
        check(not missing, f"{layout.jar()}: Class-Path entries missing from the copied files: {missing[:5]}")

        # The image's /tmp is writable by everyone; its home folder /nonexistent is not there.
        (root / "tmp").mkdir(mode=0o777, exist_ok=True)
        os.chmod(root / "tmp", 0o1777)
        workdir = layout.host_path(layout.runtime.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        env = layout.environment(home=root / "nonexistent")
        logs = root / "logs"
        logs.mkdir()

        port = free_port()
        node_args = layout.runtime.cmd + ["--host", "127.0.0.1", "--port", str(port),
                                          "--drain-seconds", str(DRAIN_SECONDS)]
        node_log = logs / "node.log"
        node = start(layout.command(java, node_args), env, workdir, uid, node_log)
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        wait_until("node ready", lambda: http("GET", base + "/v2/health/ready", timeout=2)[0] == 200,
                   node, READY_TIMEOUT_S, node_log)
        print(f"image layout: {copied} COPY sources, node ready after {time.monotonic() - started:.1f} s")

        status, body = http("GET", base + "/v2/health/live")
        check(status == 200, f"GET /v2/health/live: {status} {body}")
        sample = (ROOT / "models/breast_cancer/sample_request.json").read_text()
        status, body = http("POST", base + "/v2/models/breast_cancer/infer", sample)
        check(status == 200, f"breast_cancer inference: {status} {body}")
        labels = next(o for o in json.loads(body)["outputs"] if o["name"] == "label")["data"]
        check(labels == [0, 1], f"breast_cancer labels: {labels} (expected: [0, 1])")
        text_request = json.dumps({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1],
                                               "data": ["The ticket sale opens at nine."]}]})
        status, body = http("POST", base + "/v2/models/minilm/infer", text_request)
        check(status == 200, f"minilm inference: {status} {body[:200]}")
        shape = json.loads(body)["outputs"][0]["shape"]
        check(shape == [1, 384], f"minilm embedding shape: {shape} (expected: [1, 384])")
        check("DJL_CACHE_DIR" in env, "runtime stage: no ENV DJL_CACHE_DIR, so the tokenizer library's folder is not set")
        djl_cache = Path(env["DJL_CACHE_DIR"])
        check(any(djl_cache.rglob("libtokenizers.so")),
              f"DJL_CACHE_DIR {djl_cache}: no libtokenizers.so, so the tokenizer unpacked its library elsewhere")

        if healthchecks:
            code = run_healthcheck(healthchecks["node"], port, env, uid)
            check(code == 0, f"compose node healthcheck exited with {code} while the node is ready")

        gateway_port = free_port()
        gateway_args = ["gateway", "--nodes", f"127.0.0.1:{port}", "--host", "127.0.0.1",
                        "--port", str(gateway_port), "--drain-seconds", str(DRAIN_SECONDS)]
        gateway_log = logs / "gateway.log"
        gateway = start(layout.command(java, gateway_args), env, workdir, uid, gateway_log)
        gateway_url = f"http://127.0.0.1:{gateway_port}/v2/models/breast_cancer/infer"
        wait_until("inference through the gateway", lambda: http("POST", gateway_url, sample, timeout=5)[0] == 200,
                   gateway, 60, gateway_log)
        print("image layout: gateway routed an inference to the node")
        if healthchecks:
            code = run_healthcheck(healthchecks["gateway"], gateway_port, env, uid)
            check(code == 0, f"compose gateway healthcheck exited with {code} while the gateway is ready")

        # Both drain on SIGTERM: not ready at once; the gateway still forwards until its drain ends.
        gateway_base = f"http://127.0.0.1:{gateway_port}"
        sigterm_at = begin_drain("gateway", gateway, gateway_base, gateway_log)
        status = http("POST", gateway_url, sample, timeout=5)[0]
        check(status == 200 or time.monotonic() - sigterm_at >= DRAIN_SECONDS,
              f"inference through the draining gateway got {status}")
        await_drained_exit("gateway", gateway, sigterm_at, gateway_log)

        sigterm_at = begin_drain("node", node, base, node_log)
        if healthchecks:
            code = run_healthcheck(healthchecks["node"], port, env, uid)
            check(code != 0, "compose node healthcheck passed while the node drains")
            print("image layout: compose healthchecks passed while ready and failed while draining")
        await_drained_exit("node", node, sigterm_at, node_log)
    finally:
        stop(gateway)
        stop(node)
        shutil.rmtree(root, ignore_errors=True)
    print("image layout: passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"image layout: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
