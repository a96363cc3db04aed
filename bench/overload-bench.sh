#!/usr/bin/env bash
# Overload benchmark: finds the capacity C of `levee serve` on minilm, then offers open-loop
# load at 0.5C, 1C, 2C, 5C and 10C with admission control on, and again with it off (the naive
# baseline), and writes the numbers with this command to docs/benchmarks.md.
# Traffic goes to 127.0.0.1 only; every load step is bounded by its duration.
#
# Environment: STEP_SECONDS (default 30), SEARCH_SECONDS (default 10), SLO_MS (default 150).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./levee --version >/dev/null   # builds when needed
exec python3 "$root/bench/overload_bench.py" "$@"
