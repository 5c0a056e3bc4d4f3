"""A diagnostics bundle: what a human needs to see why a step failed. Every part is bounded in
time and redacted before it is attached (no kubeconfigs, keys or tokens)."""
from __future__ import annotations

from .kube import STATIC_COMPONENTS, container_view, event_time
from .report import redact
from .symptoms import describe_events


def pod_table(kube) -> str:
    rows = []
    for p in kube.pods():
        cs = p.status.container_statuses or []
        ready = sum(1 for c in cs if c.ready)
        restarts = sum(c.restart_count or 0 for c in cs)
        reasons = ",".join(filter(None, [(c.state.waiting.reason if c.state and c.state.waiting else None)
                                         for c in cs]))
        rows.append(f"{p.metadata.namespace:<12} {p.metadata.name:<48} {ready}/{len(cs)} {p.status.phase:<9} "
                    f"restarts={restarts:<3} node={p.spec.node_name or '<none>'} {reasons}")
    return "\n".join(rows)


def describe_pod(kube, name: str, namespace: str = "kube-system") -> str:
    """A `kubectl describe pod`-like text: status, each container's state, conditions, events."""
    p = kube.pod(name, namespace)
    out = [f"Name: {name}", f"Namespace: {namespace}", f"Node: {p.spec.node_name}", f"Phase: {p.status.phase}"]
    ann = p.metadata.annotations or {}
    if "kubernetes.io/config.hash" in ann:
        out.append(f"Config hash: {ann['kubernetes.io/config.hash']}")
    for c in p.spec.containers:
        out.append(f"Container {c.name}: image={c.image}")
        out.append("  command: " + " ".join((c.command or []) + (c.args or [])))
    out.append("State: " + container_view(p).line())
    for c in p.status.conditions or []:
        out.append(f"Condition {c.type}={c.status} {c.reason or ''} {c.message or ''}".rstrip())
    out.append("Events:")
    out.append(describe_events(kube, name, namespace))
    return redact("\n".join(out))


def collect(lab) -> dict[str, str]:
    """Best effort: each part that fails says why instead of hiding the rest."""
    parts: dict[str, str] = {}

    def add(name, fn):
        try:
            parts[name] = redact(fn())
        except Exception as exc:  # noqa: BLE001 - the API may be the thing that is down
            parts[name] = f"(unavailable: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})"

    add("pods (all namespaces)", lambda: pod_table(lab.kube))
    add("control-plane containers (API view)",
        lambda: "\n".join(container_view(lab.kube.pod(lab.mirror_pod_name(c))).line() for c in STATIC_COMPONENTS))
    add("events (kube-system, default)", lambda: _events(lab.kube))
    add("crictl ps -a (node)", lambda: lab.node.crictl("ps -a").stdout)
    add("kubelet journal tail (node)", lambda: lab.node.journal("kubelet", lines=80))
    add("node readiness", lambda: lab.kube.node_ready(lab.node_name)[1])
    return parts


def _events(kube) -> str:
    rows = []
    for ns in ("kube-system", "default"):
        for e in kube.core.list_namespaced_event(ns, _request_timeout=10).items:
            rows.append(f"{event_time(e)} {ns}/{e.involved_object.name} {e.type} {e.reason}: {e.message}")
    return "\n".join(sorted(rows)[-60:])
