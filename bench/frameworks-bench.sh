#!/usr/bin/env bash
# Frameworks benchmark, in one run on 127.0.0.1: Levee against the Python servers that speak the
# same KServe v2 protocol (Seldon MLServer, KServe's Python model server) and against Ray Serve,
# which gets a v2-shaped endpoint of this benchmark's own. All of them serve the built-in
# breast_cancer ONNX model with ONNX Runtime. For each server in turn: its capacity (the highest open-loop rate of
# `levee loadtest` whose ok p99 stays within SLO_MS with at most 1% rejected and no error), then one
# step each at 0.5x, 1x, 2x and 5x of that capacity. The results, the ratios to Levee and this
# command go between the frameworks-bench markers in docs/benchmarks.md.
#
# Each framework runs from its own virtual environment, .venv-bench/NAME, which the driver creates
# from the pinned bench/requirements-frameworks-NAME.txt when it is missing or the file changed (the
# first run needs PyPI). A framework that fails to install or start is reported as not measured.
# Every process the run starts is stopped when the run ends, fails or is interrupted (SIGINT,
# SIGTERM or SIGHUP). Servers also get SIGTERM when the driver dies.
#
# Environment:
#   STEP_SECONDS    length of each step at a multiple of capacity, in seconds (default 15)
#   SEARCH_SECONDS  length of each step of the capacity search, in seconds (default 5)
#   SLO_MS          latency objective for the ok p99, in milliseconds (default 100)
#   SERVERS         servers to measure, separated by spaces; levee is required
#                   (default "levee mlserver kserve ray")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v python3 >/dev/null || { echo "frameworks-bench: python3 (3.11, with venv) not found on PATH" >&2; exit 1; }
./levee --version >/dev/null   # builds when needed
exec python3 "$root/bench/frameworks_bench.py" "$@"
