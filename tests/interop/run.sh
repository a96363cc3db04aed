#!/usr/bin/env bash
# Runs the interop tests: Triton's stock Python clients (tritonclient, pinned in requirements.txt)
# against a real Levee node on free loopback ports. Creates or reuses a virtual environment in
# .venv-interop/ at the repository root, builds Levee through ./levee when its sources changed,
# and runs pytest within a time limit. Extra arguments go to pytest (for example -k grpc).
#
# Environment: LEVEE_INTEROP_TIMEOUT sets the limit for the pytest run in seconds (default 600).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/tests/interop"
venv="$root/.venv-interop"
timeout_seconds="${LEVEE_INTEROP_TIMEOUT:-600}"

python="$(command -v python3 || true)"
if [[ -z "$python" ]]; then
    echo "interop: python3 is not on PATH; install Python 3.11 or newer (with its venv module) to run these tests" >&2
    exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "interop: $python is Python $("$python" -c 'import platform; print(platform.python_version())');" \
        "the packages pinned in tests/interop/requirements.txt need 3.11 or newer" >&2
    exit 1
fi

# The environment is rebuilt when requirements.txt changes; a stamp file records the one installed.
stamp="$venv/.requirements.sha256"
wanted="$("$python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' \
    "$here/requirements.txt")"
if [[ ! -x "$venv/bin/python" ]] || [[ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]]; then
    echo "interop: creating $venv and installing tests/interop/requirements.txt..." >&2
    rm -rf "$venv"
    if ! "$python" -m venv "$venv"; then
        echo "interop: '$python -m venv' failed; on Debian or Ubuntu install the python3-venv package" >&2
        exit 1
    fi
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$here/requirements.txt"
    echo "$wanted" > "$stamp"
fi

# Build now, so the node's readiness wait in the tests does not include a build.
"$root/levee" --version > /dev/null

cd "$here"
if command -v timeout > /dev/null; then
    # GNU timeout signals the whole process group on expiry, so the node pytest started stops too.
    limit=(timeout --kill-after=30 "$timeout_seconds")
else
    echo "interop: 'timeout' is not installed, so the run has no overall time limit;" \
        "each wait in the tests is still bounded" >&2
    limit=()
fi
status=0
PYTHONDONTWRITEBYTECODE=1 ${limit[@]+"${limit[@]}"} "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@" \
    || status=$?
if [[ $status -eq 124 ]]; then
    echo "interop: pytest did not finish within $timeout_seconds s" >&2
fi
exit "$status"
