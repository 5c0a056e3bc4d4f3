"""A lab step graded for a learner: the step's "fixed" criteria, each met or not, in the learner's
words, with its weight (partial credit) and what was read next to what was expected.

The criteria cover the grader's checks (breakfix.grading) without overlap:
  app_replicas       app/app_replicas: the app at the step's Ready replicas
  new_pod_schedules  kube-scheduler/pod-bound, pod-start/pod-started: a new pod gets a node and starts
                     (only when the step asks for it; otherwise these count for control_plane)
  control_plane      every other check: static pods, kubelet, nodes and the functional probes
A criterion is met when every check of it that ran passes; it is unmet when one fails (or, with no
check of it run, when the grade failed: nothing could be tried), else not graded.

What the learner reads never names the fix, the changed line or its baseline: one line per unmet
criterion, from the lab's `learner:` words or made from the failing checks' kinds (LEARNER_WORDS)."""
from __future__ import annotations


from .grading.results import CheckResult, GradeReport
from .report import redact

NEW_POD_CHECKS = ("pod-bound", "pod-started")

# What a failing check looks like to a learner: what is seen, in kubectl's terms, never the cause.
LEARNER_WORDS = {
    "pod-bound": "a new pod stays Pending: nothing schedules it",
    "pod-started": "a new pod gets a node but its container does not start",
    "pod-logs": "the logs of a running pod cannot be read",
    "pod-dns": "a new pod is not given the cluster's DNS server",
    "pod-ip": "a new pod gets no IP address",
    "deployment-replicaset": "a new Deployment gets no ReplicaSet and no pods: nothing acts on Deployments",
    "deployment-scale": "scaling a Deployment adds no pod",
    "garbage-collection": "deleting a Deployment leaves its ReplicaSet and pods behind",
    "service-endpointslice": "a new Service gets no endpoints",
    "service-clusterip": "the kubernetes Service's ClusterIP does not answer",
    "dns-resolves": "cluster DNS names do not resolve",
    "api-write": "kubectl cannot write and read back objects",
    "api-readyz": "kubectl gets no answer from the API server",
    "etcd-from-api": "the API server cannot reach the cluster's data store",
    "etcd-member": "the cluster's data store (etcd) does not answer on the node",
    "static-pods-mirrored": "the control-plane pods are missing from `kubectl -n kube-system get pods`",
    "kubelet_active": "the kubelet service on the node is not running",
    "nodes_ready": "a node is NotReady",
}


def criteria_of(step) -> list[str]:
    out = ["app_replicas"]
    if step.new_pod_schedules:
        out.append("new_pod_schedules")
    return out + ["control_plane"]


def _criterion_of(r: CheckResult, step) -> str:
    if r.id == "app/app_replicas":
        return "app_replicas"
    if r.kind in NEW_POD_CHECKS and step.new_pod_schedules:
        return "new_pod_schedules"
    return "control_plane"


def _first(text: str) -> str:
    lines = [ln for ln in redact(text or "").strip().splitlines() if ln.strip()]
    return lines[0][:200] if lines else ""


def check_words(r: CheckResult, app_name: str, want: int) -> str:
    """One failing check in the learner's words."""
    if r.kind == "app_replicas":
        if r.facts.get("found") is False:
            return f"the deployment {app_name} is gone"
        if r.facts.get("api_reachable") is False:
            return f"kubectl gets no answer, so {app_name} cannot be seen"
        ready = r.facts.get("ready")
        return (f"{app_name} has {ready} of {want} Ready replicas" if ready is not None
                else f"{app_name} does not have {want} Ready replicas")
    if r.kind == "pod_ready":
        return f"the {r.component} pod in kube-system is not Ready"
    if r.kind == "manifest":
        return f"the kubelet cannot run {r.component} as it is declared"
    return LEARNER_WORDS.get(r.kind, f"not yet: {r.name}")


def _expected(cid: str, step, app_name: str, n: int) -> str:
    return {"app_replicas": f"{app_name} asks for and has {step.app_replicas} Ready replicas",
            "new_pod_schedules": "a new pod gets a node and its container starts",
            "control_plane": f"every other health check passes ({n} checks: control-plane pods, kubelet, "
                             f"nodes, what each component does)"}[cid]


def grade_step(rep: GradeReport, step, app_name: str) -> dict:
    """The criteria (a list of dicts, in order) and the step's score, from a grade."""
    ids = criteria_of(step)
    groups: dict[str, list[CheckResult]] = {c: [] for c in ids}
    for r in rep.checks:
        groups[_criterion_of(r, step)].append(r)
    out = []
    for cid in ids:
        checks = groups[cid]
        ran = [r for r in checks if r.status != "skip"]
        failed = [r for r in ran if r.failed]
        if failed:
            verdict = "unmet"
        elif any(r.status == "error" for r in ran) or not ran:
            verdict = "unmet" if not ran and rep.verdict == "fail" else "not graded"
        else:
            verdict = "met"
        line = None
        if verdict == "unmet":
            words = step.learner.get(cid)
            if not words:
                seen: list[str] = []
                for r in sorted(failed, key=lambda r: r.kind == "manifest"):   # what is seen first
                    w = check_words(r, app_name, step.app_replicas)
                    if w not in seen:
                        seen.append(w)
                if not seen:
                    seen = [("a new pod could not be tried: " if cid == "new_pod_schedules" else "")
                            + "kubectl gets no answer from the API server"]
                words = "; ".join(seen[:3]) + (f" (and {len(seen) - 3} more)" if len(seen) > 3 else "")
            line = words
        read = "; ".join(f"{r.name}: {_first(r.evidence)}" for r in failed) if failed else \
            ("; ".join(_first(r.evidence) for r in ran) if cid != "control_plane" and ran else
             f"{sum(r.passed for r in ran)} of {len(ran)} checks pass" if ran else "nothing could be read")
        out.append({"id": cid, "weight": step.weights.get(cid, 1), "verdict": verdict,
                    "expected": _expected(cid, step, app_name, len(checks)), "read": read, "learner": line,
                    "checks": [{"id": r.id, "status": r.status, "expected": r.name, "read": redact(r.evidence)}
                               for r in checks]})
    total = sum(c["weight"] for c in out)
    got = sum(c["weight"] for c in out if c["verdict"] == "met")
    return {"criteria": out, "score": {"points": got, "total": total,
                                       "percent": round(100.0 * got / total, 1) if total else 0.0}}
