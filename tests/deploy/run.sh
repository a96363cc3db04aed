#!/usr/bin/env bash
# Runs the deployment checks. The Helm chart is rendered with each values switch, decoded strictly
# into the Kubernetes API types and checked by assertions. The compose file is loaded by
# compose-go and checked. The container image's runtime layout runs from a temporary folder
# (tests/deploy/image_layout.py). No container engine or cluster runs here, so no image is built
# and nothing is installed into a cluster.
#
# Installs its tools on first use: helm (built from the Go module proxy with `go install`) and
# the validator of tests/deploy/validate into .tools/bin/, and PyYAML into .venv-deploy/. Needs
# Go 1.26 or newer and python3 3.11 or newer; the first run needs the Go module proxy and PyPI.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/tests/deploy"
tools="$root/.tools/bin"
venv="$root/.venv-deploy"
helm_version=v4.3.2
timeout_seconds="${LEVEE_DEPLOY_TIMEOUT:-600}"

if ! command -v go > /dev/null; then
    echo "deploy: the Go toolchain is not on PATH; install Go 1.26 or newer (it builds helm and the" \
        "manifest validator), or set LEVEE_SKIP_DEPLOY=1 to skip these checks" >&2
    exit 1
fi
# GOTOOLCHAIN=local: an older Go fails here with its version, instead of fetching another Go.
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
go_version="$(go env GOVERSION)"
if [[ ! "$go_version" =~ ^go1\.(2[6-9]|[3-9][0-9]) ]]; then
    echo "deploy: $go_version is on PATH; helm $helm_version and tests/deploy/validate need Go 1.26 or newer" >&2
    exit 1
fi
python="$(command -v python3 || true)"
if [[ -z "$python" ]]; then
    echo "deploy: python3 is not on PATH; install Python 3.11 or newer (with its venv module)" >&2
    exit 1
fi

mkdir -p "$tools"
if [[ ! -x "$tools/helm" ]] || [[ "$(cat "$tools/helm.version" 2>/dev/null || true)" != "$helm_version" ]]; then
    echo "deploy: building helm $helm_version into $tools (a few minutes the first time)..." >&2
    GOBIN="$tools" go install "helm.sh/helm/v4/cmd/helm@$helm_version"
    echo "$helm_version" > "$tools/helm.version"
fi
# go install skips the build when the validator's sources did not change.
(cd "$here/validate" && GOBIN="$tools" go install .)

stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" ]] || [[ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]]; then
    echo "deploy: creating $venv and installing tests/deploy/requirements.txt..." >&2
    rm -rf "$venv"
    if ! "$python" -m venv "$venv"; then
        echo "deploy: '$python -m venv' failed; on Debian or Ubuntu install the python3-venv package" >&2
        exit 1
    fi
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$here/requirements.txt"
    echo "$wanted" > "$stamp"
fi

# The image layout check runs the jars of levee-cli/target; ./levee builds them when sources changed.
source "$root/bin/find-jdk.sh"
"$root/levee" --version > /dev/null

limit=()
if command -v timeout > /dev/null; then
    limit=(timeout --kill-after=10 "$timeout_seconds")
fi
resolved="$(mktemp)"
trap 'rm -f "$resolved"' EXIT
export PYTHONDONTWRITEBYTECODE=1

echo "deploy: Helm chart" >&2
"$venv/bin/python" "$here/check_chart.py" "$tools/helm" "$tools/validate"

echo "deploy: compose file" >&2
"$tools/validate" compose "$root/deploy/compose/compose.yaml" > "$resolved"
"$venv/bin/python" "$here/check_compose.py" "$resolved"

echo "deploy: container image layout" >&2
${limit[@]+"${limit[@]}"} "$venv/bin/python" "$here/image_layout.py" --compose "$resolved"
