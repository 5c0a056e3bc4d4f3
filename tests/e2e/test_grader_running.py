"""End to end: `breakfix check` on faults where the component keeps RUNNING, or where the change is
OUTSIDE the static pod manifests (a kubeconfig, the kubelet's config). A pod's Ready condition says
nothing here: only the functional probes (breakfix/probes.py) see that the cluster does not do its
job, and only the whole node compared with its baselines shows what changed.

Each fault of tests/unseen_faults named below is set up with `breakfix break --faults-dir
tests/unseen_faults ID` on the kind cluster `breakfix-running`; then `breakfix check --json` is
asked twice:

  with a backup    (the journal `break` left on the node): `baseline_from` "backup";
  with kubeadm's   (the journal's directory moved aside, no snapshot: nothing but what kubeadm keeps
  baselines only   for the cluster: its rendered manifests and kubeconfigs, the kubelet-config
                   ConfigMap): `baseline_from` "kubeadm" or "kubelet-config ConfigMap".

Both times it must exit 1 with verdict "fail", name the expected component first as the only root
cause, name the changed file and key with the injected value, and carry a proof line observed on a
real cluster that a healthy node does not log (test_healthy_logs_are_no_proof). Then `breakfix
restore`, and `check` exits 0 with no WARN line.

No sleeps: every wait is breakfix.waits.wait_until with a deadline."""
from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass

import pytest

from breakfix.waits import Observation, wait_until

from .support import ROOT, breakfix, module_cluster, node_exec

pytestmark = [pytest.mark.e2e]

UNSEEN_DIR = ROOT / "tests" / "unseen_faults"
NAME = os.environ.get("BREAKFIX_E2E_RUNNING_CLUSTER", "breakfix-running")
CONTAINER = f"{NAME}-control-plane"
JOURNAL_DIR = "/var/lib/kube-breakfix"
PROBE_TIMEOUT = "20"


@dataclass(frozen=True)
class Running:
    fault: str
    component: str          # the root cause the grader must name
    file: str               # the changed file
    key: str                # its changed key (`changed[].key`)
    now: object             # the value it has now (`changed[].now`); None: not compared
    proof: tuple[str, ...]  # one of these is a substring of a proof line (observed on a real cluster)
    failed: str             # a check that must fail (a functional probe)


M = "/etc/kubernetes/manifests"
CASES = [
    Running("controller-manager-deployment-controller-disabled", "kube-controller-manager",
            f"{M}/kube-controller-manager.yaml", "--controllers", "*,bootstrapsigner,tokencleaner,-deployment-controller",
            ("no ReplicaSet",), "deployment-replicaset"),
    Running("controller-manager-garbage-collector-disabled", "kube-controller-manager",
            f"{M}/kube-controller-manager.yaml", "--enable-garbage-collector", "false",
            ("ReplicaSet", "still there"), "garbage-collection"),
    Running("controller-manager-endpointslice-controller-disabled", "kube-controller-manager",
            f"{M}/kube-controller-manager.yaml", "--controllers",
            "*,bootstrapsigner,tokencleaner,-endpointslice-controller", ("0 EndpointSlice",), "service-endpointslice"),
    Running("etcd-client-port-moved", "etcd", f"{M}/etcd.yaml", "--listen-client-urls", "https://127.0.0.1:2479",
            ("127.0.0.1:2379: connect: connection refused",), "api-readyz"),
    Running("scheduler-kubeconfig-server-port", "kube-scheduler", "/etc/kubernetes/scheduler.conf", "server", None,
            (":6444: connect: connection refused",), "pod-bound"),
    Running("controller-manager-kubeconfig-wrong-ca", "kube-controller-manager",
            "/etc/kubernetes/controller-manager.conf", "certificate-authority", None,
            ("x509: certificate signed by unknown authority", "certificate is not trusted"), "deployment-replicaset"),
    Running("kubelet-cluster-dns-wrong", "kubelet", "/var/lib/kubelet/config.yaml", "clusterDNS", ["10.96.0.99"],
            ("DNS servers ['10.96.0.99']",), "pod-dns"),
    Running("kubelet-client-ca-front-proxy", "kubelet", "/var/lib/kubelet/config.yaml",
            "authentication.x509.clientCAFile", "/etc/kubernetes/pki/front-proxy-ca.crt", ("Unauthorized",), "pod-logs"),
    Running("apiserver-admission-always-pull", "kube-apiserver", f"{M}/kube-apiserver.yaml",
            "--enable-admission-plugins", "NodeRestriction,AlwaysPullImages", ("ErrImagePull", "ImagePullBackOff",
                                                                              "Failed to pull image"), "pod-started"),
    Running("apiserver-service-account-key-wrong", "kube-apiserver", f"{M}/kube-apiserver.yaml",
            "--service-account-key-file", "/etc/kubernetes/pki/front-proxy-ca.key",
            ("invalid bearer token", "Unauthorized", "no ReplicaSet"), "deployment-replicaset"),
    # kubeadm's admin is in kubeadm:cluster-admins (RBAC), not system:masters: it is forbidden too, and
    # so is the kubelet's liveness probe: the API server is restarted over and over (refused between)
    Running("apiserver-authorization-node-only", "kube-apiserver", f"{M}/kube-apiserver.yaml",
            "--authorization-mode", "Node", ('forbidden: User "kubernetes-admin"', "/readyz answers ok: on the node"),
            "api-readyz"),
    Running("controller-manager-kubeconfig-server-port", "kube-controller-manager",
            "/etc/kubernetes/controller-manager.conf", "server", None, (":6444: connect: connection refused",),
            "deployment-replicaset"),
    Running("kubelet-runtime-endpoint", "kubelet", "/var/lib/kubelet/config.yaml", "containerRuntimeEndpoint",
            "unix:///run/containerd/containerd-missing.sock",
            ("dial unix /run/containerd/containerd-missing.sock: connect: no such file or directory",), "kubelet_active"),
]
# make test runs this sample (one per kind of evidence: a controller that is off, a kubeconfig with
# kubeadm's render as its baseline, the kubelet's config with the ConfigMap as its baseline); make
# grader-unseen runs every case (marker `unseen`).
SAMPLE = {"controller-manager-deployment-controller-disabled", "scheduler-kubeconfig-server-port",
          "kubelet-cluster-dns-wrong"}
assert SAMPLE <= {c.fault for c in CASES}


def check(*extra: str) -> subprocess.CompletedProcess:
    return breakfix("check", "--cluster", NAME, "--probe-timeout", PROBE_TIMEOUT, *extra)


def check_json(*extra: str) -> tuple[int, dict]:
    r = check("--json", *extra)
    assert r.stdout.strip(), f"check printed nothing (rc={r.returncode}): {r.stderr}"
    return r.returncode, json.loads(r.stdout)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    kubeconfig = tmp_path_factory.mktemp("running") / "kubeconfig"
    with module_cluster(NAME, kubeconfig, settle=True):
        yield kubeconfig

def wait_check_passes(what: str, deadline: float = 420) -> dict:
    seen: dict = {}

    def probe() -> Observation:
        rc, rep = check_json()
        seen["rep"] = rep
        return Observation(rc == 0 and not rep.get("warnings"),
                           f"rc={rc} verdict={rep.get('verdict')} failed={rep.get('failed')} "
                           f"warnings={rep.get('warnings')}")
    wait_until(probe, what, deadline, interval=2)
    return seen["rep"]


def test_healthy_cluster_passes_with_no_warning_and_probes_clean_up(cluster):
    t0 = time.monotonic()
    rc, rep = check_json()
    took = time.monotonic() - t0
    print(f"breakfix check --json on the healthy cluster {NAME}: exit {rc} in {took:.1f} s "
          f"(grader's own time {rep['seconds']} s); probes created {rep['probes']['created']}")
    assert rc == 0 and rep["verdict"] == "pass", rep["failed"]
    assert rep["warnings"] == [] and not rep["diagnosis"], rep["diagnosis"]
    names = {c["kind"] for c in rep["checks"] if c["status"] == "pass"}
    assert {"api-write", "etcd-from-api", "etcd-member", "pod-bound", "pod-started", "pod-logs", "pod-dns",
            "static-pods-mirrored", "deployment-replicaset", "deployment-scale", "service-endpointslice",
            "garbage-collection", "pod-ip", "service-clusterip", "dns-resolves"} <= names, names
    assert rep["probes"]["created"], rep["probes"]
    left = node_exec(CONTAINER, "kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "get",
                     "deployments,replicasets,pods,services,configmaps", "-n", "kube-breakfix-probes",
                     "-l", "kube-breakfix/probe=true", "-o", "name")
    assert left.strip() == "", f"probe objects left behind: {left}"
    r = check("--no-probe-pod")
    assert r.returncode == 0, r.stdout[-2000:]


def test_healthy_logs_are_no_proof(cluster):
    """What a healthy component logs after its start-up, read as the grader reads it, is no proof."""
    from breakfix.grading.diagnosis import running_proof
    from breakfix.grading.view import STARTUP_S, node_component
    from breakfix.node import Node
    node = Node(f"docker://{CONTAINER}")
    for comp in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
        def settled() -> Observation:
            v = node_component(node, CONTAINER, comp)
            age = time.time() - v.created_ns / 1e9 if v.created_ns else 0
            return Observation(v.running and age >= 2 * STARTUP_S, f"{comp}: {v.line()} up {age:.0f}s")
        wait_until(settled, f"{comp} up for {2 * STARTUP_S}s", 120, interval=2)
        v = node_component(node, CONTAINER, comp)
        whole = node_exec(CONTAINER, "crictl", "logs", "--tail", "300", v.container_id)
        print(f"{comp}: {len(v.current_log.splitlines())} lines after its start-up "
              f"({len(whole.splitlines())} on stdout in all)")
        assert running_proof(v.current_log) is None, f"{comp}: a healthy line taken for proof: " \
                                                      f"{running_proof(v.current_log)}"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.fault, marks=() if c.fault in SAMPLE else
                                               (pytest.mark.unseen,)) for c in CASES])
def test_running_fault_is_diagnosed(cluster, case):
    t0 = time.monotonic()
    r = breakfix("break", "--faults-dir", str(UNSEEN_DIR), case.fault, "--cluster", NAME)
    print(f"break {case.fault}: exit {r.returncode} in {time.monotonic() - t0:.0f} s\n{r.stdout}{r.stderr}")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        seen: dict = {}

        def failing() -> Observation:   # the fault takes effect: the probe that proves it fails
            rc, rep = check_json()
            seen["rc"], seen["rep"] = rc, rep
            bad = {c["kind"] for c in rep["checks"] if c["status"] == "fail"}
            return Observation(rc == 1 and case.failed in bad, f"rc={rc} failed={sorted(bad)}")
        t1 = time.monotonic()
        wait_until(failing, f"{case.failed} fails after {case.fault}", 300, interval=2)
        print(f"{case.fault}: check fails {time.monotonic() - t1:.0f} s after the break")
        judge(case, seen["rep"], "backup")
        hidden = f"{JOURNAL_DIR}.hidden"
        node_exec(CONTAINER, "mv", JOURNAL_DIR, hidden)
        try:
            rc, rep = check_json()
            assert rc == 1, f"kubeadm's baselines: exit {rc}: {json.dumps(rep.get('diagnosis'))[:3000]}"
            judge(case, rep, "kubeadm")
        finally:
            node_exec(CONTAINER, "mv", hidden, JOURNAL_DIR)
    finally:
        r = breakfix("restore", "--cluster", NAME)
        print(f"restore: exit {r.returncode}\n{r.stdout}{r.stderr}")
        assert r.returncode == 0, r.stdout + r.stderr
        t2 = time.monotonic()
        wait_check_passes(f"check exits 0 with no WARN after restoring {case.fault}")
        print(f"{case.fault}: check exits 0, no WARN, {time.monotonic() - t2:.0f} s after the restore")


def judge(case: Running, rep: dict, mode: str) -> None:
    shown = json.dumps(rep.get("diagnosis"), indent=1)[:6000]
    print(f"--- {case.fault} ({mode} baselines): verdict {rep['verdict']}; diagnosis:\n{shown}")
    assert rep["verdict"] == "fail", shown
    roots = [d for d in rep["diagnosis"] if d["role"] == "root-cause"]
    assert [d["component"] for d in roots] == [case.component], shown
    assert rep["diagnosis"][0]["component"] == case.component, shown
    [entry] = roots
    hits = [c for c in entry["changed"] if c["file"] == case.file and c["key"] == case.key]
    assert hits, f"{case.component}: no change of {case.file} {case.key} in {entry['changed']}"
    if case.now is not None:
        assert hits[0]["now"] == case.now, hits[0]
    want_from = {"backup"} if mode == "backup" else {"kubeadm", "kubelet-config ConfigMap"}
    assert hits[0]["baseline_from"] in want_from, hits[0]
    assert hits[0]["baseline"] != hits[0]["now"], hits[0]
    assert any(p in line for line in entry["proof"] for p in case.proof), \
        f"none of {case.proof} in the proof {entry['proof']}"
    assert case.failed in {c["kind"] for c in rep["checks"] if c["status"] == "fail"}, rep["failed"]
