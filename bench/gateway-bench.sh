#!/usr/bin/env bash
# Gateway benchmark, in one run on 127.0.0.1 with the synthetic test model (20 ms per batch of at
# most 4 requests, so a node's capacity is set by its batch time, not by the CPU):
#   1. scale-out: the capacity of 1, 2 and 4 `levee serve` nodes behind `levee gateway`, and its
#      ratio to linear, capacity(N) / (N x capacity(1));
#   2. gateway cost: the p50 latency the gateway adds and the throughput lost. The same offered
#      load goes straight to one node and through the gateway to that node, in alternating pairs.
#      When nginx is installed (apt-get install nginx-light), each pair also sends it through nginx,
#      a plain reverse proxy, as a reference for what any proxy hop costs on this machine.
# Capacity is the highest open-loop rate (`levee loadtest`) whose ok p99 stays within SLO_MS with at
# most 1% rejected. The results and this command go between the gateway-bench markers in
# docs/benchmarks.md. Every process the run starts is stopped when it ends, fails or is
# interrupted (SIGINT, SIGTERM or SIGHUP); nodes also exit when the driver is killed.
#
# Environment, all in seconds unless noted:
#   STEP_SECONDS    length of each measured step: one at each capacity, and the cost pairs (default 15)
#   SEARCH_SECONDS  length of each step of the capacity search (default 5)
#   SLO_MS          latency objective for the ok p99, in milliseconds (default 150)
#   COST_PAIRS      direct and gateway step pairs of the cost measurement (default 3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./levee --version >/dev/null   # builds when needed
exec python3 "$root/bench/gateway_bench.py" "$@"
