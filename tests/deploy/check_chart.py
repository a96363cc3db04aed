"""Renders the Helm chart with each values switch and asserts on the manifests.

Usage: check_chart.py HELM VALIDATE

For every case below: `helm lint` and `helm template` with the case's --set flags, then
`VALIDATE manifests` (strict decoding into client-go's API types), then the assertions of this
file on the parsed manifests. Values that the chart rejects must make `helm template` fail with
a message that names the value.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy/helm/levee"
RELEASE = "prod"
NAMESPACE = "ml"
NODE = f"{RELEASE}-levee-node"
GATEWAY = f"{RELEASE}-levee-gateway"
# Node Deployment's wait after the drain: 30 s for queued and running requests (+5 s slack) and
# 10 s to close, as LeveeNode.drain and close do.
NODE_DRAIN_TAIL_S = 45
# Gateway Deployment's wait after the drain: up to 10 s for requests in flight (+5 s slack) and
# 10 s to close, as LeveeGateway.close does.
GATEWAY_DRAIN_TAIL_S = 25

CASES = {
    "defaults": [],
    "dns discovery": ["gateway.discovery=dns"],
    "cpu autoscaling": ["autoscaling.metric=cpu"],
    "no autoscaling": ["autoscaling.enabled=false", "node.replicas=3"],
    "repository from a claim": ["modelRepository.source=pvc", "modelRepository.pvc.claimName=levee-models"],
    "repository from an image": ["modelRepository.source=image", "modelRepository.image.repository=registry.example/models",
                                 "modelRepository.image.tag=7"],
    "preStop sleep and longer drain": ["node.preStopSleepSeconds=10", "node.drainSeconds=15",
                                       "gateway.preStopSleepSeconds=3", "gateway.drainSeconds=8"],
    "no gateway": ["gateway.enabled=false"],
}

REJECTED = {
    "gateway.discovery=static": "gateway.discovery",
    "autoscaling.metric=memory": "autoscaling.metric",
    "modelRepository.source=pvc": "modelRepository.pvc.claimName",
    "modelRepository.source=nfs": "modelRepository.source",
}


class Failures:
    def __init__(self):
        self.messages = []
        self.checks = 0

    def check(self, case, condition, message):
        self.checks += 1
        if not condition:
            self.messages.append(f"[{case}] {message}")


def run(command):
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def dockerfile_uid():
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("USER "):
            return int(line.split()[1].split(":")[0])
    raise AssertionError("Dockerfile: no USER line")


def values_of(settings):
    """Merges the chart's values.yaml with --set pairs (dotted keys, scalar values) for the checks."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for setting in settings:
        key, _, raw = setting.partition("=")
        target = values
        parts = key.split(".")
        for part in parts[:-1]:
            target = target[part]
        target[parts[-1]] = yaml.safe_load(raw)
    return values


def find(manifests, kind, name):
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return matches[0] if matches else None


def container(deployment, name):
    return next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name)


def probe_target(container_spec, probe):
    """Returns (path, containerPort) of an httpGet probe, resolving a named port."""
    get = container_spec[probe]["httpGet"]
    port = get["port"]
    if isinstance(port, str):
        port = next(p["containerPort"] for p in container_spec["ports"] if p["name"] == port)
    return get["path"], port


def arg_after(args, flag):
    return args[args.index(flag) + 1] if flag in args else None


def check_node(f, case, manifests, values, uid):
    deployment = find(manifests, "Deployment", NODE)
    f.check(case, deployment is not None, f"no Deployment {NODE}")
    if deployment is None:
        return
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    f.check(case, selector.items() <= labels.items(), f"node selector {selector} does not match pod labels {labels}")
    node = container(deployment, "node")
    args = node["args"]
    f.check(case, args[0] == "serve", f"node args start with {args[0]!r} (expected: serve)")
    f.check(case, arg_after(args, "--port") == "8000", f"node --port {arg_after(args, '--port')} (expected: 8000)")

    f.check(case, probe_target(node, "readinessProbe") == ("/v2/health/ready", 8000),
            f"readiness probe {probe_target(node, 'readinessProbe')}")
    f.check(case, probe_target(node, "livenessProbe") == ("/v2/health/live", 8000),
            f"liveness probe {probe_target(node, 'livenessProbe')}")
    f.check(case, "startupProbe" in node, "node has no startup probe")
    if "startupProbe" in node:
        startup = node["startupProbe"]
        f.check(case, probe_target(node, "startupProbe") == ("/v2/health/live", 8000),
                f"startup probe {probe_target(node, 'startupProbe')}")
        allowed = startup["periodSeconds"] * startup["failureThreshold"]
        f.check(case, allowed >= 120, f"startup probe allows {allowed} s for model loading (expected: >= 120)")

    drain = int(arg_after(args, "--drain-seconds"))
    f.check(case, drain == values["node"]["drainSeconds"],
            f"node --drain-seconds {drain} (expected: {values['node']['drainSeconds']})")
    pre_stop = values["node"]["preStopSleepSeconds"]
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    f.check(case, grace >= pre_stop + drain + NODE_DRAIN_TAIL_S,
            f"node grace period {grace} s < preStop {pre_stop} + drain {drain} + {NODE_DRAIN_TAIL_S} s")
    hook = node.get("lifecycle", {}).get("preStop")
    if pre_stop > 0:
        f.check(case, hook == {"exec": {"command": ["sleep", str(pre_stop)]}}, f"node preStop hook {hook}")
    else:
        f.check(case, hook is None, f"node preStop hook {hook} with preStopSleepSeconds 0")

    security = pod["spec"]["securityContext"]
    f.check(case, security.get("runAsNonRoot") is True, "node pod without runAsNonRoot")
    f.check(case, security.get("runAsUser") == uid, f"node runAsUser {security.get('runAsUser')} (Dockerfile: {uid})")
    f.check(case, node["securityContext"].get("readOnlyRootFilesystem") is True, "node root file system not read-only")
    mounts = {m["mountPath"]: m["name"] for m in node["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    f.check(case, "emptyDir" in volumes.get(mounts.get("/tmp"), {}), "node /tmp is not an emptyDir")
    f.check(case, pod["spec"].get("automountServiceAccountToken") is False, "node pods mount a token")
    limits = node["resources"].get("limits", {})
    f.check(case, "cpu" in limits and "memory" in limits, f"node limits {limits} (expected: cpu and memory)")

    hpa = find(manifests, "HorizontalPodAutoscaler", NODE)
    if values["autoscaling"]["enabled"]:
        f.check(case, "replicas" not in deployment["spec"], "node Deployment sets replicas while the HPA owns them")
    else:
        f.check(case, deployment["spec"].get("replicas") == values["node"]["replicas"],
                f"node replicas {deployment['spec'].get('replicas')}")
        f.check(case, hpa is None, "HPA rendered with autoscaling.enabled=false")

    check_repository(f, case, pod, node, args, values)


def check_repository(f, case, pod, node, args, values):
    source = values["modelRepository"]["source"]
    path = values["modelRepository"]["mountPath"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in node["volumeMounts"]}
    if source == "builtin":
        f.check(case, "--model-repository" not in args, "built-in models, yet --model-repository is set")
        f.check(case, path not in mounts, f"built-in models, yet {path} is mounted")
        f.check(case, not pod["spec"].get("initContainers"), "built-in models, yet an init container runs")
        return
    f.check(case, arg_after(args, "--model-repository") == path,
            f"--model-repository {arg_after(args, '--model-repository')} (expected: {path})")
    mount = mounts.get(path)
    f.check(case, mount is not None and mount.get("readOnly") is True, f"repository mount {mount} (expected: read-only)")
    volume = volumes.get(mount["name"]) if mount else None
    if source == "pvc":
        claim = (volume or {}).get("persistentVolumeClaim", {})
        f.check(case, claim.get("claimName") == values["modelRepository"]["pvc"]["claimName"],
                f"repository volume {volume}")
    else:
        f.check(case, volume is not None and "emptyDir" in volume, f"repository volume {volume} (expected: emptyDir)")
        init = (pod["spec"].get("initContainers") or [{}])[0]
        image = values["modelRepository"]["image"]
        f.check(case, init.get("image") == f"{image['repository']}:{image['tag']}", f"init container image {init.get('image')}")
        init_mounts = [m["name"] for m in init.get("volumeMounts", [])]
        f.check(case, volume is not None and volume["name"] in init_mounts, "init container does not write the models volume")


def check_node_objects(f, case, manifests, values):
    deployment = find(manifests, "Deployment", NODE)
    if deployment is None:
        return
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    service = find(manifests, "Service", NODE)
    f.check(case, service is not None, f"no Service {NODE}")
    if service:
        f.check(case, service["spec"].get("clusterIP") == "None", "node Service is not headless")
        f.check(case, service["spec"]["selector"].items() <= labels.items(), "node Service selects other pods")
        f.check(case, [p["port"] for p in service["spec"]["ports"]] == [8000], "node Service port is not 8000")
    pdb = find(manifests, "PodDisruptionBudget", NODE)
    f.check(case, pdb is not None, "no PodDisruptionBudget for the nodes")
    if pdb:
        f.check(case, pdb["spec"]["selector"]["matchLabels"].items() <= labels.items(), "PDB selects other pods")
        f.check(case, pdb["spec"].get("maxUnavailable") == 1, f"PDB {pdb['spec']}")

    hpa = find(manifests, "HorizontalPodAutoscaler", NODE)
    if not values["autoscaling"]["enabled"]:
        return
    f.check(case, hpa is not None, "no HorizontalPodAutoscaler")
    if hpa is None:
        return
    target = hpa["spec"]["scaleTargetRef"]
    f.check(case, (target["kind"], target["name"]) == ("Deployment", NODE), f"HPA targets {target}")
    metrics = hpa["spec"]["metrics"]
    if values["autoscaling"]["metric"] == "pods":
        names = sorted(m["pods"]["metric"]["name"] for m in metrics if m["type"] == "Pods")
        f.check(case, names == ["levee_inflight", "levee_queue_depth"], f"HPA Pods metrics {names}")
        f.check(case, all(m["type"] == "Pods" for m in metrics), "HPA mixes CPU into the Pods metrics")
    else:
        f.check(case, [m["type"] for m in metrics] == ["Resource"], f"HPA metrics {metrics}")
        f.check(case, metrics[0]["resource"]["name"] == "cpu", f"HPA resource {metrics[0]['resource']}")


def check_gateway(f, case, manifests, values):
    deployment = find(manifests, "Deployment", GATEWAY)
    rbac = [m for m in manifests if m["kind"] in ("ServiceAccount", "Role", "RoleBinding")]
    if not values["gateway"]["enabled"]:
        f.check(case, deployment is None, "gateway rendered with gateway.enabled=false")
        f.check(case, not rbac, "RBAC rendered without a gateway")
        return
    f.check(case, deployment is not None, f"no Deployment {GATEWAY}")
    if deployment is None:
        return
    pod = deployment["spec"]["template"]
    gateway = container(deployment, "gateway")
    args = gateway["args"]
    nodes = arg_after(args, "--nodes")
    f.check(case, probe_target(gateway, "readinessProbe") == ("/v2/health/ready", 8000), "gateway readiness probe")
    f.check(case, probe_target(gateway, "livenessProbe") == ("/v2/health/live", 8000), "gateway liveness probe")
    pre_stop = values["gateway"]["preStopSleepSeconds"]
    drain = int(arg_after(args, "--drain-seconds"))
    f.check(case, drain == values["gateway"]["drainSeconds"],
            f"gateway --drain-seconds {drain} (expected: {values['gateway']['drainSeconds']})")
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    f.check(case, grace >= pre_stop + drain + GATEWAY_DRAIN_TAIL_S,
            f"gateway grace period {grace} s < preStop {pre_stop} + drain {drain} + {GATEWAY_DRAIN_TAIL_S} s")
    hook = gateway.get("lifecycle", {}).get("preStop")
    if pre_stop > 0:
        f.check(case, hook == {"exec": {"command": ["sleep", str(pre_stop)]}}, f"gateway preStop hook {hook}")
    else:
        f.check(case, hook is None, f"gateway preStop hook {hook} with preStopSleepSeconds 0")

    service = find(manifests, "Service", GATEWAY)
    f.check(case, service is not None and service["spec"]["type"] == values["gateway"]["service"]["type"],
            f"gateway Service {service and service['spec']}")
    if service:
        labels = pod["metadata"]["labels"]
        f.check(case, service["spec"]["selector"].items() <= labels.items(), "gateway Service selects other pods")

    if values["gateway"]["discovery"] == "k8s":
        f.check(case, nodes == f"k8s:{NAMESPACE}/{NODE}:8000", f"gateway --nodes {nodes}")
        account = find(manifests, "ServiceAccount", GATEWAY)
        role = find(manifests, "Role", GATEWAY)
        binding = find(manifests, "RoleBinding", GATEWAY)
        f.check(case, account and role and binding, "k8s discovery without ServiceAccount, Role and RoleBinding")
        f.check(case, pod["spec"].get("serviceAccountName") == GATEWAY,
                f"gateway serviceAccountName {pod['spec'].get('serviceAccountName')}")
        if role:
            rules = role["rules"]
            f.check(case, rules == [{"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                                     "verbs": ["get", "list", "watch"]}], f"Role rules {rules}")
        if binding:
            f.check(case, binding["roleRef"]["name"] == GATEWAY, f"RoleBinding roleRef {binding['roleRef']}")
            f.check(case, binding["subjects"] == [{"kind": "ServiceAccount", "name": GATEWAY, "namespace": NAMESPACE}],
                    f"RoleBinding subjects {binding['subjects']}")
    else:
        f.check(case, nodes == f"dns:{NODE}.{NAMESPACE}.svc.cluster.local:8000", f"gateway --nodes {nodes}")
        f.check(case, not rbac, f"dns discovery, yet RBAC objects are rendered: {[m['kind'] for m in rbac]}")
        f.check(case, pod["spec"].get("automountServiceAccountToken") is False, "dns discovery, yet a token is mounted")


def template(helm, settings, output):
    command = [helm, "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    for setting in settings:
        command += ["--set", setting]
    result = run(command)
    if result.returncode == 0:
        output.write_text(result.stdout)
    return result


def main():
    helm, validate = sys.argv[1], sys.argv[2]
    f = Failures()
    uid = dockerfile_uid()
    with tempfile.TemporaryDirectory(prefix="levee-chart-") as folder:
        for case, settings in CASES.items():
            lint = run([helm, "lint", "--strict", str(CHART)] + [a for s in settings for a in ("--set", s)])
            f.check(case, lint.returncode == 0, f"helm lint failed:\n{lint.stdout}{lint.stderr}")
            rendered = Path(folder) / "rendered.yaml"
            result = template(helm, settings, rendered)
            f.check(case, result.returncode == 0, f"helm template failed: {result.stderr.strip()}")
            if result.returncode != 0:
                continue
            validation = run([validate, "manifests", str(rendered)])
            f.check(case, validation.returncode == 0, f"API types reject the manifests: {validation.stderr.strip()}")
            manifests = [m for m in yaml.safe_load_all(rendered.read_text()) if m]
            values = values_of(settings)
            check_node(f, case, manifests, values, uid)
            check_node_objects(f, case, manifests, values)
            check_gateway(f, case, manifests, values)
            print(f"chart: {case}: {len(manifests)} manifests")
        for setting, named in REJECTED.items():
            result = template(helm, [setting], Path(folder) / "rejected.yaml")
            f.check(setting, result.returncode != 0, "helm template accepted it")
            f.check(setting, named in result.stderr, f"the error does not name {named}: {result.stderr.strip()}")
    for message in f.messages:
        print(f"chart: FAILED: {message}", file=sys.stderr)
    print(f"chart: {f.checks - len(f.messages)} passed, {len(f.messages)} failed")
    sys.exit(1 if f.messages else 0)


if __name__ == "__main__":
    main()
