"""Asserts on the compose file as compose-go resolved it (output of `validate compose`).

Usage: check_compose.py RESOLVED_YAML

Checks the wiring that the schema cannot: the gateway finds the nodes through the service name,
waits for them to be healthy and is the only published port, and the nodes' stop grace period
covers their drain.
"""

import re
import sys

import yaml

# After --drain-seconds, a node waits up to 30 s (+5 s slack) for queued and running requests and
# up to 10 s to close.
NODE_DRAIN_TAIL_S = 45


def seconds(duration):
    """Parses a compose duration such as 50s, 1m0s or 1m30s."""
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", duration)
    if not match or not duration:
        raise ValueError(f"duration {duration!r}")
    hours, minutes, secs = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(secs or 0)


def arg_after(args, flag):
    return args[args.index(flag) + 1] if flag in args else None


def main():
    project = yaml.safe_load(open(sys.argv[1]))
    services = project["services"]
    failures = []
    checks = 0

    def check(condition, message):
        nonlocal checks
        checks += 1
        if not condition:
            failures.append(message)

    node = services["node"]
    gateway = services["gateway"]
    check(node["command"][0] == "serve", f"node command {node['command']}")
    check(arg_after(node["command"], "--port") == "8000", f"node --port in {node['command']}")
    check(node["deploy"]["replicas"] >= 2, f"node replicas {node['deploy']['replicas']} (expected: >= 2)")
    check("ports" not in node, "node ports are published; only the gateway's should be")
    drain = int(arg_after(node["command"], "--drain-seconds"))
    grace = seconds(node["stop_grace_period"])
    check(grace >= drain + NODE_DRAIN_TAIL_S,
          f"node stop_grace_period {grace} s < drain {drain} + {NODE_DRAIN_TAIL_S} s")
    check("/v2/health/ready" in " ".join(node["healthcheck"]["test"]), "node healthcheck does not read /v2/health/ready")
    check(seconds(node["healthcheck"]["start_period"]) >= 60, "node healthcheck start_period under 60 s")
    limits = node["deploy"]["resources"]["limits"]
    check("cpus" in limits and "memory" in limits, f"node limits {limits}")

    check(gateway["command"][0] == "gateway", f"gateway command {gateway['command']}")
    check(arg_after(gateway["command"], "--nodes") == "dns:node:8000",
          f"gateway --nodes {arg_after(gateway['command'], '--nodes')} (expected: dns:node:8000)")
    condition = gateway.get("depends_on", {}).get("node", {}).get("condition")
    check(condition == "service_healthy", f"gateway depends_on node condition {condition}")
    targets = [p["target"] for p in gateway.get("ports", [])]
    check(targets == [8000], f"gateway published ports {targets} (expected: [8000])")
    check(seconds(gateway["stop_grace_period"]) > 10, "gateway stop_grace_period under its 10 s shutdown")

    for name in ("node", "gateway"):
        service = services[name]
        check(service.get("read_only") is True, f"{name}: root file system not read-only")
        tmp = [t for t in service.get("tmpfs", []) if t.split(":")[0] == "/tmp"]
        check(tmp and "exec" in tmp[0].split(":")[1].split(","),
              f"{name}: /tmp tmpfs {tmp} must allow exec, since native libraries load from it")

    for message in failures:
        print(f"compose: FAILED: {message}", file=sys.stderr)
    print(f"compose: {checks - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
