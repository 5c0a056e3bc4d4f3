"""A lab step's fault on a worker: the grader judges that worker's kubelet (Grader(workers=...)). Its
checks are their own part, `workers`, in the diagnosis; the pod placed there counts for the step's
`new_pod_schedules`, the unit and the Node for `control_plane`; the step's fault names the node."""
from __future__ import annotations

from types import SimpleNamespace

from breakfix.catalog import load_catalog
from breakfix.grading import CheckResult, GradeReport
from breakfix.grading.diagnosis import root_causes
from breakfix.grading.steps import fault_nodes
from breakfix.labs import load_labs
from breakfix.learner import grade_step

LAB = load_labs(load_catalog())["worker-node-failure"]


def test_a_failing_workers_kubelet_is_the_root_cause_and_the_nodes_and_app_are_blocked_by_it():
    found = root_causes({"workers", "nodes", "app"}, {})
    assert [(f.component, f.role, f.blocked_by) for f in found] == [
        ("workers", "root-cause", None), ("nodes", "blocked", "workers"), ("app", "blocked", "workers")]
    # the control plane's own scheduler down: the worker's pod is blocked by it, not a root cause
    found = root_causes({"kube-scheduler", "workers"}, {})
    assert [(f.component, f.role) for f in found] == [("kube-scheduler", "root-cause"), ("workers", "blocked")]


def _grade(worker_ok: bool, pod_ok: bool) -> GradeReport:
    st = {True: "pass", False: "fail"}
    checks = [CheckResult("kubelet", "kubelet_active", "pass", "kubelet is active"),
              CheckResult("kubelet", "nodes_ready", st[worker_ok], "node w Ready=Unknown", source="api"),
              CheckResult("kube-scheduler", "pod-bound", "pass", "bound", source="api"),
              CheckResult("pod-start", "pod-started", "pass", "started", source="api"),
              CheckResult("kubelet on w", "worker_kubelet", st[worker_ok], "kubelet on w is inactive (dead)",
                          group="workers"),
              CheckResult("kubelet on w", "pod-bound", "pass", "bound to w", source="api", group="workers"),
              CheckResult("kubelet on w", "pod-started", st[pod_ok], "pod on w: phase=Pending", source="api",
                          group="workers"),
              CheckResult("app", "app_replicas", st[pod_ok], "deployment default/app: ready=0 (want 1 Ready)",
                          source="api")]
    verdict = "pass" if all(c.passed for c in checks) else "fail"
    return GradeReport(checks, "docker://x", "x", {"reachable": True, "detail": "ok"}, {"unchanged": True},
                       verdict=verdict)


def test_the_workers_pod_counts_for_new_pod_schedules_its_unit_for_the_rest():
    step = LAB.step(1)
    got = {c["id"]: c for c in grade_step(_grade(False, False), step, "app")["criteria"]}
    assert {k: c["verdict"] for k, c in got.items()} == {
        "app_replicas": "unmet", "new_pod_schedules": "unmet", "control_plane": "unmet"}
    assert "kubelet on w/pod-started" in [c["id"] for c in got["new_pod_schedules"]["checks"]]
    assert got["new_pod_schedules"]["learner"] == "a new pod that must run on the worker does not start"
    # the kubelet started again but no pod has started on its node yet: not a pass
    got = grade_step(_grade(True, False), step, "app")
    assert [c["verdict"] for c in got["criteria"]] == ["unmet", "unmet", "met"]
    got = grade_step(_grade(True, True), step, "app")
    assert got["score"]["percent"] == 100.0


def test_the_steps_fault_names_the_worker_and_it_is_reached_by_its_name():
    class Node:
        def sibling(self, name):
            return f"docker://{name}"

    class Core:
        def list_node(self, **_):
            labels = {"node-role.kubernetes.io/control-plane": ""}
            return SimpleNamespace(items=[SimpleNamespace(metadata=SimpleNamespace(name=n, labels=lb))
                                          for n, lb in (("k-control-plane", labels), ("k-worker", {}),
                                                        ("k-worker2", {}))])
    kube = SimpleNamespace(core=Core())
    assert fault_nodes(LAB.step(2), Node(), kube, "k-control-plane") == {"k-worker": "docker://k-worker"}
    # a step on the control plane has no other node; no API: none (the grade's own checks fail)
    other = load_labs(load_catalog())["control-plane-failure"].step(1)
    assert fault_nodes(other, Node(), kube, "k-control-plane") == {}
    assert fault_nodes(LAB.step(1), Node(), SimpleNamespace(core=None), "k-control-plane") == {}


class _Worker:
    """A worker node whose kubelet is active (up 99 s) and logged LINE since it started."""
    def __init__(self, line: str, state: str = "active"):
        self.line, self.state = line, state

    def run(self, cmd: str, timeout=None):
        import json
        if "journalctl" in cmd:
            rec = {"MESSAGE": self.line, "_SYSTEMD_INVOCATION_ID": "inv1"}
            return SimpleNamespace(stdout=f"inv1\n{json.dumps(rec)}\n", stderr="", rc=0, ok=True)
        return SimpleNamespace(stdout=f"ActiveState={self.state}\nSubState=running\nNRestarts=0\n"
                                      "ActiveEnterTimestampMonotonic=1000000\nUptime=100.0\n", stderr="", rc=0, ok=True)


def test_a_running_workers_kubelet_whose_node_is_not_ready_fails_with_what_it_cannot_do():
    from breakfix.grading import Grader
    x509 = ('E1207 17:04:17.774909    7852 reflector.go:205] "Failed to watch" err="failed to list *v1.Node: Get '
            '\\"https://cp:6443/api/v1/nodes\\": tls: failed to verify certificate: x509: certificate signed by unknown '
            'authority"')
    kube = SimpleNamespace(node_ready=lambda n: (False, f"node {n} Ready=Unknown (NodeStatusUnknown: Kubelet stopped "
                                                        f"posting node status.)"))
    w = _Worker(x509)
    g = Grader(None, kube, "cp", {}, workers={"w": w, "cp": w})
    assert list(g.workers) == ["w"]          # the graded node itself is not graded twice
    r = g.check_worker_kubelet("w", w)
    assert (r.status, r.kind, r.component) == ("fail", "worker_kubelet", "kubelet on w")
    lines = r.evidence.splitlines()
    assert "x509: certificate signed by unknown authority" in lines[0] and "is active (running" in lines[1]
    ready = SimpleNamespace(node_ready=lambda n: (True, f"node {n} Ready=True (KubeletReady: kubelet is posting)"))
    assert Grader(None, ready, "cp", {}).check_worker_kubelet("w", w).status == "pass"
    # a node the transport cannot reach proves nothing: an error, never a pass
    assert Grader(None, ready, "cp", {}).check_worker_kubelet("w", None).status == "error"
