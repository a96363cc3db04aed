"""Start one Levee node on free loopback ports for the interop tests, and stop it at the end."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
# Starting the JVM and loading minilm and breast_cancer takes seconds. run.sh builds beforehand,
# so this wait does not include a build.
READY_TIMEOUT_SECONDS = float(os.environ.get("LEVEE_INTEROP_READY_TIMEOUT", "180"))
STOP_TIMEOUT_SECONDS = 30
START_ATTEMPTS = 3


@dataclass(frozen=True)
class Node:
    """A running node: its REST and gRPC addresses as tritonclient takes them."""

    http_url: str
    grpc_url: str


def free_port():
    """Return a port that was free a moment ago; the node may still lose it to another process."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until_ready(process, port, log_path):
    """Poll /v2/health/ready until it returns 200.

    Return False if the node exits first, and raise if it is not ready within the timeout.
    """
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    url = f"http://{HOST}:{port}/v2/health/ready"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    stop(process)
    raise RuntimeError(
        f"node on port {port} was not ready within {READY_TIMEOUT_SECONDS:.0f} s; its log:\n"
        + log_path.read_text(errors="replace")
    )


def stop(process):
    """Send SIGTERM so the node drains, and kill it if it has not exited within the stop timeout."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


def run_node(extra_args):
    """Start `./levee serve` with extra arguments, retrying on new ports if a port was taken.

    A generator for fixtures: it yields the running Node and stops it when resumed.
    """
    with tempfile.TemporaryDirectory(prefix="levee-interop-") as log_dir:
        for attempt in range(1, START_ATTEMPTS + 1):
            http_port, grpc_port = free_port(), free_port()
            log_path = Path(log_dir) / f"node-{attempt}.log"
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    [str(REPO_ROOT / "levee"), "serve", "--host", HOST, "--port", str(http_port),
                     "--grpc-port", str(grpc_port), *extra_args],
                    cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                if wait_until_ready(process, http_port, log_path):
                    yield Node(f"{HOST}:{http_port}", f"{HOST}:{grpc_port}")
                    return
            finally:
                stop(process)
            print(f"node exited before it was ready (attempt {attempt} of {START_ATTEMPTS}); its log:\n"
                  + log_path.read_text(errors="replace"))
        raise RuntimeError(f"node failed to start in {START_ATTEMPTS} attempts; see the logs above")


@pytest.fixture(scope="session")
def node():
    """A node serving the built-in models."""
    yield from run_node([])


@pytest.fixture(scope="session")
def controlled_node():
    """A node with explicit model control over a repository holding two copies of breast_cancer.

    `breast_cancer` loads at start; `classifier_b` waits in the repository until a test loads it.
    """
    with tempfile.TemporaryDirectory(prefix="levee-interop-repo-") as repository:
        for name in ("breast_cancer", "classifier_b"):
            folder = Path(repository) / name
            shutil.copytree(REPO_ROOT / "models" / "breast_cancer" / "1", folder / "1")
            shutil.copy(REPO_ROOT / "models" / "breast_cancer" / "config.json", folder / "config.json")
        yield from run_node(["--model-repository", repository, "--model-control", "explicit",
                             "--load-model", "breast_cancer"])
