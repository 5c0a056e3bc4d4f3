"""The grader's decision table on a fake API and a fake node (tests/unit/fakeapi.py), with a real
Grader: the verdicts (pass, fail, could-not-grade: only for the grader's own problems), where each
check's evidence comes from (the API, else the node), and the root cause named before what it
blocks. Each case takes milliseconds; the same decisions on a real cluster are tests/e2e/test_grader*."""
from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from breakfix.grading import Grader
from breakfix.grading.results import CheckResult
from breakfix.kube import STATIC_COMPONENTS
from breakfix.waits import Observation

from .fakeapi import NODE, FakeApi, GraderNode, mirror_pod, node_obj


def grader(api: FakeApi | None, node: GraderNode | None = None, node_api: Observation | None = None) -> Grader:
    g = Grader(node or GraderNode(), api, NODE, {}, replicas=2, app_timeout=0.1,
               api_error=None if api is not None else "connection refused")
    g.node_api = node_api
    return g


def checks(g: Grader) -> list[CheckResult]:
    """The checks of a run that do not write (grader.run adds the functional probes)."""
    return [g.check_pod(c) for c in STATIC_COMPONENTS] + [g.check_kubelet(), g.check_nodes(), g.check_app()]


def by_id(results):
    return {r.id: r for r in results}


def test_a_healthy_control_plane_passes():
    results = checks(grader(FakeApi()))
    assert [r.id for r in results if not r.passed] == []
    assert grader(FakeApi()).verdict(results) == "pass"
    assert {r.source for r in results if r.kind == "pod_ready"} == {"api"}


def test_a_crash_looping_component_fails_with_its_previous_log():
    pods = [mirror_pod(c) for c in STATIC_COMPONENTS if c != "kube-scheduler"]
    pods.append(mirror_pod("kube-scheduler", waiting="CrashLoopBackOff", exit_code=1))
    api = FakeApi(pods, logs={f"kube-scheduler-{NODE}": ("E1207 unknown flag: --kubeconfg\n", "")})
    g = grader(api)
    results = checks(g)
    r = by_id(results)["kube-scheduler/pod_ready"]
    assert r.status == "fail" and r.source == "api" and "previous log tail" in r.evidence
    assert "unknown flag" in r.evidence
    assert g.verdict(results) == "fail"


def test_a_mirror_pod_the_api_does_not_have_fails_though_the_node_runs_its_container():
    api = FakeApi()
    api.pod_errors[f"kube-scheduler-{NODE}"] = ApiException(status=404, reason="Not Found")
    g = grader(api)
    r = g.check_pod("kube-scheduler")
    assert r.status == "fail" and r.source == "node"
    assert "CONTAINER_RUNNING" in r.evidence          # graded on the node: it runs there
    assert g.verdict(checks(g)) == "fail"


def test_an_api_gone_during_the_run_is_graded_from_the_node():
    api = FakeApi()
    api.pod_errors[f"kube-scheduler-{NODE}"] = ConnectionRefusedError("refused")
    r = grader(api).check_pod("kube-scheduler")
    assert r.status == "pass" and r.source == "node" and r.evidence.startswith("API server: ConnectionRefusedError")


def test_a_stopped_kubelet_fails_on_the_node_and_in_the_api():
    g = grader(FakeApi(nodes=[node_obj(ready=False)]), GraderNode(kubelet="inactive"))
    got = by_id(checks(g))
    assert got["kubelet/kubelet_active"].status == "fail" and "kubelet is inactive" in got["kubelet/kubelet_active"].evidence
    assert got["kubelet/nodes_ready"].status == "fail" and "Ready=False" in got["kubelet/nodes_ready"].evidence
    assert g.verdict(list(got.values())) == "fail"


def test_the_app_not_at_its_replicas_fails_and_a_missing_app_says_so():
    assert grader(FakeApi(app_replicas=(2, 1))).check_app().status == "fail"
    r = grader(FakeApi(app_replicas=None)).check_app()
    assert r.status == "fail" and "not found" in r.evidence


def test_a_probe_the_grader_could_not_run_is_could_not_grade_only_when_nothing_failed():
    g = grader(FakeApi())
    refused = CheckResult("kube-apiserver", "api-write", "error", "HTTP 403: the grader may not create pods",
                          source="api")
    assert g.verdict(checks(g) + [refused]) == "could-not-grade"
    broken = grader(FakeApi(nodes=[node_obj(ready=False)]))
    assert broken.verdict(checks(broken) + [refused]) == "fail"


@pytest.mark.parametrize("node_api, containers, want", [
    # the node is answered by its API server and runs every component: the grader's own path fails
    (Observation(True, "on the node: /readyz ok"), None, "could-not-grade"),
    # the node's own /readyz fails: the cluster is broken
    (Observation(False, "on the node: /readyz 500"), None, "fail"),
    # the node shows the API server's container ended: the cluster is broken, whatever the grader sees
    (Observation(True, "on the node: /readyz ok"), {"kube-apiserver": "CONTAINER_EXITED"}, "fail"),
])
def test_without_the_api_the_node_decides_whose_problem_it_is(node_api, containers, want):
    node = GraderNode(containers={**{c: "CONTAINER_RUNNING" for c in STATIC_COMPONENTS}, **(containers or {})})
    g = grader(None, node, node_api)
    results = checks(g) + [CheckResult("kube-apiserver", "api-readyz", "fail" if not node_api.ok else "error",
                                       "API server not reachable from the grader", source="api")]
    assert {r.source for r in results if r.kind == "pod_ready"} == {"node"}
    assert g.verdict(results) == want


def test_the_root_cause_is_named_before_what_it_blocks():
    """etcd's container exited: the API server, the scheduler and the controller manager fail with
    it; etcd is the root cause and the others are blocked by it, whatever order the checks came in."""
    down = {"etcd": "CONTAINER_EXITED", "kube-apiserver": "CONTAINER_EXITED"}
    node = GraderNode(containers={**{c: "CONTAINER_RUNNING" for c in STATIC_COMPONENTS}, **down},
                      logs={"etcd": "panic: open /var/lib/etcd/member: permission denied\n"})
    g = grader(None, node, Observation(False, "on the node: /readyz refused"))
    g._baselines = ({}, [])        # no backup or snapshot on the node: no changed line to compare
    results = [CheckResult(c, "pod_ready", "fail", "down", source="node")
               for c in reversed(STATIC_COMPONENTS)]
    findings, _ = g.diagnose(results)
    roles = [(f.component, f.role, f.blocked_by) for f in findings]
    assert roles[0] == ("etcd", "root-cause", None)
    assert all(role == "blocked" and by == "etcd" for _, role, by in roles[1:])
    assert any("permission denied" in line for line in findings[0].proof)


class _SandboxNode:
    """crictl's pod sandboxes and the manifests, as the node has them; `hostname` otherwise."""

    def __init__(self, sandboxes, manifests):
        self.sandboxes, self.manifests = sandboxes, manifests

    def crictl(self, args, timeout=30):
        from breakfix.node import Result
        return Result(0, json.dumps({"items": self.sandboxes}), "")

    def read_many(self, paths):
        return {p: self.manifests.get(p.rsplit("/", 1)[-1]) for p in paths}

    def check(self, cmd, timeout=None, what=None):
        return "hostname-of-the-machine\n"


def _sandbox(name, source="file", component="kube-scheduler"):
    return {"metadata": {"name": name, "namespace": "kube-system", "uid": "u"}, "labels": {"component": component},
            "annotations": {"kubernetes.io/config.source": source}}


def test_the_node_name_is_read_from_a_static_pod_and_its_manifests_name():
    from breakfix.grading import node_name_of
    manifest = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: scheduler\n  namespace: kube-system\n"
    # an API-created pod named like a static pod is not one; the static pod is named after its manifest
    node = _SandboxNode([_sandbox("kube-scheduler-impostor", source="api"), _sandbox("scheduler-cp-2")],
                        {"kube-scheduler.yaml": manifest})
    assert node_name_of(node) == "cp-2"
    # no static pod: the hostname
    assert node_name_of(_SandboxNode([], {"kube-scheduler.yaml": manifest})) == "hostname-of-the-machine"


def _started(comp: str, ready: bool, started_at: float):
    pod = mirror_pod(comp, ready=ready)
    pod.status.container_statuses[0].state.running.started_at = _Time(started_at)
    return pod


class _Time:
    """A container's startedAt as the Kubernetes client returns it (a datetime)."""
    def __init__(self, t: float):
        self.t = t

    def timestamp(self) -> float:
        return self.t


def test_a_component_that_has_just_started_is_graded_once_ready_not_before():
    """A fix checked at once: the scheduler runs, started 3 s ago, its startup probe not run yet. The
    grader reads it again until it is Ready (pass); one that started long ago and is not Ready fails
    at once, without waiting."""
    import time as _t
    now = _t.time()
    reads = iter([False, False, True])
    api = FakeApi([mirror_pod(c) for c in STATIC_COMPONENTS if c != "kube-scheduler"]
                  + [_started("kube-scheduler", False, now - 3)])
    name = f"kube-scheduler-{NODE}"

    def pod(n, namespace="kube-system", _orig=api.pod):
        if n == name:
            return _started("kube-scheduler", next(reads, True), now - 3)
        return _orig(n, namespace)
    api.pod = pod
    g = grader(api)
    assert g.check_pod("kube-scheduler").status == "pass"

    stale = FakeApi([mirror_pod(c) for c in STATIC_COMPONENTS if c != "kube-scheduler"]
                    + [_started("kube-scheduler", False, now - 3600)])
    t0 = _t.monotonic()
    r = grader(stale).check_pod("kube-scheduler")
    assert r.status == "fail" and "ready=False" in r.evidence and _t.monotonic() - t0 < 5
