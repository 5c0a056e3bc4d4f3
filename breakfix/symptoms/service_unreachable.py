"""Symptom kind `service_unreachable`: its fields and its check."""
from __future__ import annotations

from .. import probes
from ..params import PORT, STREAK, TEXT, WORKLOAD
from ..waits import Observation
from ._kind import SymptomKind, wait_seen
from .workload_failing import workload_status


def http_status(lab, ip: str, port: int, path: str = "/healthz", node=None) -> int | None:
    """probes.http_status from NODE (default: the lab's)."""
    return probes.http_status(node or lab.node, ip, port, path)



def proxy_down_node(lab, ref: str) -> tuple[Observation, str | None]:
    """A node of the cluster on which no pod of the workload runs, which the lab can reach; the
    target node first. A node-local workload (a DaemonSet such as kube-proxy) breaks per node: a
    rolling update stops after its first broken pod, so the old pods keep running on the other
    nodes. Returns the observation and that node's name (or None)."""
    sel = ",".join(f"{k}={v}" for k, v in workload_status(lab.kube, ref)["selector"].items())
    # node -> pod name -> a container running; a node with no pod at all runs no proxy either (a
    # nodeSelector that matches no node deletes every pod)
    by_node: dict[str, dict[str, bool]] = {n: {} for n in lab.kube.node_names()}
    for p in lab.kube.pods(ref.split("/")[1], sel):
        if p.spec.node_name:
            by_node.setdefault(p.spec.node_name, {})[p.metadata.name] = any(
                c.state and c.state.running for c in p.status.container_statuses or [])
    down = sorted((n for n, pods in by_node.items() if not any(pods.values())), key=lambda n: n != lab.node_name)
    reachable = [n for n in down if lab.node_at(n) is not None]
    seen = "; ".join(f"{n}: " + (", ".join(f"{pod} {'running' if up else 'not running'}" for pod, up in pods.items())
                                 or "no pod") for n, pods in sorted(by_node.items())) or "no nodes listed"
    return (Observation(bool(reachable), f"pods of {ref} by node: {seen}; no pod running on: {down or 'none'}"
                        + ("" if reachable or not down else " (not reachable by name from here)")),
            reachable[0] if reachable else None)



def _service_unreachable(lab, inj, spec) -> str:
    """A fresh ClusterIP Service in front of `app`: from the node, GET `path` on an app pod's IP answers
    HTTP 200 while the same request through the Service's ClusterIP does not (another status, or no
    HTTP answer), `streak` times in a row. A bare TCP connect proves nothing here: a network may answer
    every connect (an egress proxy). With `workload` (the proxy), the probe runs from a node where no
    pod of it runs, and the Service is created after that was seen (a pod still terminating there
    would program it)."""
    port = spec.port
    node_name = lab.node_name
    if spec.workload:
        ref = spec.workload
        found: dict = {}

        def proxy_down() -> Observation:
            obs, found["node"] = proxy_down_node(lab, ref)
            return obs
        seen = wait_seen(proxy_down, f"a node where no pod of {ref} runs", lab.t("symptom"), max(lab.poll, 1.0))
        node_name = found["node"]
        lab.reporter.attach(f"no pod of {ref} running on {node_name}", seen)
    node = lab.node_at(node_name)
    name = lab.kube.create_probe_service({"app": lab.app_name}, port, lab.namespace)
    inj.context.probe_services.append(name)
    streak = {"n": 0}

    def probe() -> Observation:
        ip = lab.kube.service(name, lab.namespace).spec.cluster_ip
        pods = sorted((p for p in lab.kube.pods(lab.namespace, f"app={lab.app_name}") if p.status.pod_ip
                       and p.status.phase == "Running"), key=lambda p: p.spec.node_name != node_name)
        if not ip or not pods:
            streak["n"] = 0
            return Observation(False, f"service {name} clusterIP {ip}, running app pods {len(pods)}")
        path = spec.path
        pod_st = http_status(lab, pods[0].status.pod_ip, port, path, node=node)
        svc_st = http_status(lab, ip, port, path, node=node)
        if pod_st == 200 and svc_st is not None and svc_st != 200:
            streak["n"] += 1
        elif pod_st is not None and svc_st is not None:
            streak["n"] = 0
        return Observation(streak["n"] >= spec.streak,
                           f"from {node_name}: GET {path}: pod {pods[0].status.pod_ip}:{port} HTTP {pod_st}; "
                           f"service {name} {ip}:{port} HTTP {svc_st} (0: no HTTP answer, None: probe did not run); "
                           f"in a row: {streak['n']}")

    return wait_seen(probe, f"fresh service {name} unreachable from {node_name} while app pods answer",
                 lab.t("symptom"), max(lab.poll, 1.0))


KIND = SymptomKind(
    "service_unreachable",
    "a fresh ClusterIP Service in front of `app`: from the node GET `path` on an app pod's IP answers HTTP "
    "200, the same through the Service's ClusterIP does not (no connect, no answer, or not 200), `streak` "
    "times in a row; with `workload` (the proxy's), the Service is created once no pod of it runs",
    {"port": (PORT, 8080), "path": (TEXT, "/healthz"), "streak": (STREAK, 3), "workload": (WORKLOAD, None)},
    _service_unreachable)
