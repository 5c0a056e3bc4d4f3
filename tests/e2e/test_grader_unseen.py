"""End to end: `breakfix check` diagnoses breaks that are NOT in the catalog (issue 10).

Graders run `breakfix check` after any lab, not only after faults/. Each fault of
tests/unseen_faults (the catalog's format, but none of them in faults/) is set up with
`breakfix break --faults-dir tests/unseen_faults ID` on the kind cluster `breakfix-unseen` (a module
fixture creates it from airgap/.build/node-image.ref and deletes it at the end); then
`breakfix check --cluster breakfix-unseen --json` must, without the catalog's help:

  exit 1 with verdict "fail";
  put the expected component(s) first in `diagnosis`, as role "root-cause" (and nothing else);
  name the changed key in that entry's `changed`, with `now` the injected value and `baseline` the
  value the file had before (`baseline_from` "backup": `break` left one);
  carry, in `proof`, the component's own error line observed on a real cluster (table below);
  mark every other failing part "blocked" by a root cause (etcd -> kube-apiserver -> the rest);

and the text output must print `<component>: <key>=<now> (baseline <baseline>` and the proving
line. Then `breakfix restore`, and `check` exits 0 again. Two cases break two components at once.

The proving substrings are the real lines observed on this project's v1.34.4 kind node (etcd 3.6.5)
when the faults were verified one by one; "seconds" is how long `break` took until the component
visibly failed (it includes the kubelet picking up the edit).

No sleeps: every wait is breakfix.waits.wait_until with a deadline.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass

import pytest
import yaml

from breakfix.waits import Observation, wait_until

from .support import ROOT, breakfix, module_cluster, node_exec

pytestmark = [pytest.mark.e2e]

UNSEEN_DIR = ROOT / "tests" / "unseen_faults"
NAME = os.environ.get("BREAKFIX_E2E_UNSEEN_CLUSTER", "breakfix-unseen")
CONTAINER = f"{NAME}-control-plane"
NODE = f"docker://{CONTAINER}"
MANIFESTS = "/etc/kubernetes/manifests"


@dataclass(frozen=True)
class Expect:
    fault: str        # id in tests/unseen_faults
    component: str    # the root cause the grader must name
    key: str          # the changed flag / field, as `changed[].key`
    now: str          # the injected value, as `changed[].now`
    proof: str        # a substring of the component's real error line (or the kubelet's reason)


@dataclass(frozen=True)
class Case:
    expects: tuple[Expect, ...]

    @property
    def id(self) -> str:
        return "+".join(e.fault for e in self.expects)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(e.fault for e in self.expects)

    @property
    def roots(self) -> tuple[str, ...]:
        return tuple(e.component for e in self.expects)

    @property
    def changes(self) -> tuple[tuple[str, str], ...]:
        return tuple((e.key, e.now) for e in self.expects)

    @property
    def proof(self) -> str:
        return " | ".join(e.proof for e in self.expects)


def one(*args: str) -> Case:
    return Case((Expect(*args),))


SCHED_LEADER = Expect("scheduler-leader-elect-invalid", "kube-scheduler", "--leader-elect", "maybe",
                      'invalid argument "maybe" for "--leader-elect" flag')
SCHED_PORT = Expect("scheduler-secure-port-invalid", "kube-scheduler", "--secure-port", "abc",
                    'invalid argument "abc" for "--secure-port" flag')
KCM_FLAG = Expect("controller-manager-unknown-flag", "kube-controller-manager", "--kubeconfigg",
                  "/etc/kubernetes/controller-manager.conf", "unknown flag: --kubeconfigg")
ETCD_KEY = Expect("etcd-key-file-missing", "etcd", "--key-file", "/etc/kubernetes/pki/etcd/server-key.pem",
                  "open /etc/kubernetes/pki/etcd/server-key.pem: no such file or directory")

# The real lines, and how long `break` took until the component visibly failed (edit, the kubelet
# picking it up, the failure), on this project's kind node.
CASES = [
    # 24 s: Error: invalid argument "maybe" for "--leader-elect" flag: strconv.ParseBool: parsing "maybe":
    #       invalid syntax
    Case((SCHED_LEADER,)),
    # 21 s: Error: invalid argument "abc" for "--secure-port" flag: strconv.ParseInt: parsing "abc": invalid syntax
    Case((SCHED_PORT,)),
    # 21 s: Error: unknown flag: --kubeconfigg
    Case((KCM_FLAG,)),
    # 37 s (it starts its controllers first, exit 1): "Error starting controllers" err="error parsing root-ca-file
    #       at /etc/kubernetes/pki/root-ca.crt: open /etc/kubernetes/pki/root-ca.crt: no such file or directory"
    one("controller-manager-root-ca-missing", "kube-controller-manager", "--root-ca-file",
        "/etc/kubernetes/pki/root-ca.crt", "error parsing root-ca-file at /etc/kubernetes/pki/root-ca.crt"),
    # 19 s, no container at all; the kubelet: ErrImageNeverPull: Container image
    #       "registry.k8s.io/kube-controller-manager:v1.34.40" is not present with pull policy of Never
    one("controller-manager-image-missing", "kube-controller-manager", "image",
        "registry.k8s.io/kube-controller-manager:v1.34.40",
        'Container image "registry.k8s.io/kube-controller-manager:v1.34.40" is not present with pull policy of Never'),
    # 36 s (exit 1): "Error starting controllers" err="failed to start kubernetes.io/kubelet-serving certificate
    #       controller: error reading CA cert file \"/etc/kubernetes/pki/cluster-signing.crt\": open
    #       /etc/kubernetes/pki/cluster-signing.crt: no such file or directory"
    one("controller-manager-signing-cert-missing", "kube-controller-manager", "--cluster-signing-cert-file",
        "/etc/kubernetes/pki/cluster-signing.crt",
        "open /etc/kubernetes/pki/cluster-signing.crt: no such file or directory"),
    # 38 s (exit 1): E... run.go:72] "command failed" err="service-cluster-ip-range[0] is not a valid cidr"
    one("apiserver-service-cidr-invalid", "kube-apiserver", "--service-cluster-ip-range", "10.96.0.0/99",
        "service-cluster-ip-range[0] is not a valid cidr"),
    # 35 s (exit 1): "command failed" err="open /etc/kubernetes/pki/apiserver-key.pem: no such file or directory"
    one("apiserver-tls-key-missing", "kube-apiserver", "--tls-private-key-file",
        "/etc/kubernetes/pki/apiserver-key.pem",
        "open /etc/kubernetes/pki/apiserver-key.pem: no such file or directory"),
    # 36 s (exit 1): "command failed" err="open /etc/kubernetes/pki/client-ca.crt: no such file or directory"
    one("apiserver-client-ca-missing", "kube-apiserver", "--client-ca-file", "/etc/kubernetes/pki/client-ca.crt",
        "open /etc/kubernetes/pki/client-ca.crt: no such file or directory"),
    # 39 s (exit 1): "command failed" err="authorization-mode ABAC's authorization policy file not passed"
    one("apiserver-authorization-abac-no-policy", "kube-apiserver", "--authorization-mode", "Node,RBAC,ABAC",
        "authorization-mode ABAC's authorization policy file not passed"),
    # 35 s to an API server that runs but never answers: grpc ... "transport: Error while dialing: dial tcp
    #       127.0.0.1:2380: connect: connection refused" (kubeadm's etcd listens for peers on the node's IP
    #       only); ~60 s later it exits 255: F... Error creating leases: error creating storage factory:
    #       context deadline exceeded. That last line does not say why: the proof must show the dial.
    one("apiserver-etcd-peer-port", "kube-apiserver", "--etcd-servers", "https://127.0.0.1:2380",
        "dial tcp 127.0.0.1:2380: connect: connection refused"),
    # 52 s: {"level":"fatal",...,"msg":"listener failed","error":"open /etc/kubernetes/pki/etcd/server-key.pem:
    #       no such file or directory"}
    Case((ETCD_KEY,)),
    # 52 s: {"level":"error",...,"msg":"setting up serving from embedded etcd failed.","error":"open
    #       /etc/kubernetes/pki/etcd/etcd-ca.crt: no such file or directory"}
    one("etcd-trusted-ca-missing", "etcd", "--trusted-ca-file", "/etc/kubernetes/pki/etcd/etcd-ca.crt",
        "open /etc/kubernetes/pki/etcd/etcd-ca.crt: no such file or directory"),
    # 2 s after the kubelet restarted it stopped etcd and every other static pod, and then logs every second:
    #       "Unable to read config path" err="path does not exist, ignoring" path="/etc/kubernetes/manifest"
    #       (`break` itself waits 150 s and warns "not visible yet": the kubelet is active, the API is gone)
    one("kubelet-static-pod-path", "kubelet", "staticPodPath", "/etc/kubernetes/manifest",
        'path does not exist, ignoring" path="/etc/kubernetes/manifest"'),
    # 3 s (the kubelet exits and systemd restarts it every second): "command failed" err="failed to run
    #       Kubelet: validate service connection: validate CRI v1 runtime API for endpoint
    #       \"unix:///run/containerd/containerd-missing.sock\": ... dial unix
    #       /run/containerd/containerd-missing.sock: connect: no such file or directory"
    one("kubelet-runtime-endpoint", "kubelet", "containerRuntimeEndpoint",
        "unix:///run/containerd/containerd-missing.sock",
        "dial unix /run/containerd/containerd-missing.sock: connect: no such file or directory"),
    # Two at once, on different components: both are root causes, neither blocks the other.
    Case((SCHED_LEADER, KCM_FLAG)),
    # ... and with the API down: the scheduler's own fault is still a root cause, not "blocked by etcd";
    # the API server is blocked by etcd. (The scheduler is broken first: `break` needs the API.)
    Case((SCHED_PORT, ETCD_KEY)),
]


def injected(fault) -> list[tuple[str, str]]:
    """(key, value) pairs a fault's edits set, named as the grader's `changed[].key` names them."""
    out = []
    for e in fault.edits:
        if e["op"] == "set_flag":
            out.append((e["flag"], "" if e.get("value") is None else str(e["value"])))
        elif e["op"] == "set_image":
            out.append(("image", e["value"]))
            if e.get("pull_policy"):
                out.append(("imagePullPolicy", e["pull_policy"]))
        elif e["op"] == "set_command":
            out.append(("command", e["value"]))
        elif e["op"] in ("set_field", "set_url_port"):
            out.append((e["path"], e["value"]))
    return out


# --- running things ------------------------------------------------------------------------------
def check(*extra: str) -> subprocess.CompletedProcess:
    return breakfix("check", "--cluster", NAME, *extra)


def check_json(*extra: str) -> tuple[int, dict]:
    r = check("--json", *extra)
    assert r.stdout.strip(), f"check printed nothing (rc={r.returncode}): {r.stderr}"
    return r.returncode, json.loads(r.stdout)


def wait_check_passes(what: str, deadline: float = 420) -> None:
    def probe() -> Observation:
        r = check("--no-probe-pod")
        return Observation(r.returncode == 0, f"rc={r.returncode} {r.stdout[-400:]} {r.stderr[-200:]}")
    wait_until(probe, what, deadline, interval=5)


def baseline_values(fault) -> dict[str, str | None]:
    """The values the fault's keys have on the node now (before the break): the grader's baseline."""
    from breakfix.edits import EditError, get_field, get_flag
    path = f"{MANIFESTS}/{fault.target.path}" if fault.target.kind == "manifest" else fault.target.path
    doc = yaml.safe_load(node_exec(CONTAINER, "cat", path))
    out: dict[str, str | None] = {}
    for key, _ in injected(fault):
        if key.startswith("-"):
            out[key] = get_flag(doc, key)
        elif fault.target.kind == "manifest":
            out[key] = doc["spec"]["containers"][0].get(key)
        else:
            try:
                out[key] = get_field(doc, key)
            except EditError:
                out[key] = None
    return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    kubeconfig = tmp_path_factory.mktemp("unseen") / "kubeconfig"
    with module_cluster(NAME, kubeconfig, settle=True):
        yield kubeconfig

# --- tests ---------------------------------------------------------------------------------------
def test_healthy_cluster_check_passes(cluster):
    t0 = time.monotonic()
    r = check()
    took = time.monotonic() - t0
    print(f"breakfix check on the healthy cluster {NAME}: exit {r.returncode} in {took:.1f} s")
    assert r.returncode == 0, r.stdout + r.stderr
    rc, rep = check_json("--no-probe-pod")
    assert rc == 0 and rep["verdict"] == "pass", rep.get("failed")
    assert not [d for d in rep.get("diagnosis", []) if d["role"] == "root-cause"], rep["diagnosis"]


# make test runs this sample (the kubelet's reason for no container, etcd, the kubelet's own file, two
# at once with the API down: a scheduler's own flag error and etcd's); make grader-unseen runs every
# case (marker `unseen`).
SAMPLE = {"controller-manager-image-missing", "etcd-key-file-missing", "kubelet-runtime-endpoint",
          "scheduler-secure-port-invalid+etcd-key-file-missing"}
PARAMS = [pytest.param(c, id=c.id, marks=() if c.id in SAMPLE else (pytest.mark.unseen,)) for c in CASES]
assert SAMPLE <= {c.id for c in CASES}, SAMPLE - {c.id for c in CASES}


@pytest.mark.parametrize("case", PARAMS)
def test_unseen_break_is_diagnosed(cluster, case):
    from breakfix.catalog import load_catalog
    unseen = load_catalog(UNSEEN_DIR)
    faults = [unseen[i] for i in case.ids]
    baselines = {f.id: baseline_values(f) for f in faults}
    try:
        for f in faults:
            t0 = time.monotonic()
            r = breakfix("break", "--faults-dir", str(UNSEEN_DIR), f.id, "--cluster", NAME)
            print(f"break {f.id}: exit {r.returncode} in {time.monotonic() - t0:.0f} s\n{r.stdout}{r.stderr}")
            assert r.returncode == 0, r.stdout + r.stderr
            assert f"broke {f.id} on {NODE}" in r.stdout, r.stdout

        rc, rep = check_json()
        shown = json.dumps(rep.get("diagnosis"), indent=1)[:6000]
        assert rc == 1, f"exit {rc}, want 1; diagnosis: {shown}"
        assert rep["verdict"] == "fail", shown
        diagnosis = rep["diagnosis"]
        roots = set(case.roots)
        head = diagnosis[:len(roots)]
        assert [d["role"] for d in head] == ["root-cause"] * len(roots), shown
        assert {d["component"] for d in head} == roots, shown
        for d in diagnosis[len(roots):]:
            assert d["role"] == "blocked", f"{d['component']} is a root cause too: {shown}"
            assert d["blocked_by"] in roots, f"{d['component']} blocked by {d['blocked_by']}: {shown}"
        for e in case.expects:
            [entry] = [d for d in head if d["component"] == e.component]
            assert entry["blocked_by"] is None, entry
            hits = [c for c in entry["changed"] if c["key"] == e.key]
            assert hits, f"{e.component}: no change of {e.key} in {entry['changed']}"
            assert hits[0]["now"] == e.now, hits[0]
            assert hits[0]["baseline"] == baselines[e.fault][e.key], (hits[0], baselines[e.fault])
            assert hits[0]["baseline_from"] == "backup", hits[0]
            assert hits[0]["file"] == (f"{MANIFESTS}/{e.component}.yaml" if e.component != "kubelet"
                                       else unseen[e.fault].target.path), hits[0]
            assert any(e.proof in p for p in entry["proof"]), f"{e.proof!r} not in {entry['proof']}"

        r = check("--no-probe-pod")
        assert r.returncode == 1, r.stdout[-3000:] + r.stderr
        for e in case.expects:
            was = baselines[e.fault][e.key]
            line = f"{e.component}: {e.key}={e.now} (baseline " + ("" if was is None else f"{was}")
            assert line in r.stdout, f"{line!r} not printed:\n{r.stdout[-4000:]}"
            assert e.proof in r.stdout, f"{e.proof!r} not printed:\n{r.stdout[-4000:]}"
    finally:
        # Also when an assertion above failed: the next case starts from a healthy cluster, and the
        # restore is proven for every case (a failure here is chained to the one above).
        restore_and_wait(case)


def restore_and_wait(case: Case) -> None:
    r = breakfix("restore", "--cluster", NAME)
    print(f"restore: exit {r.returncode}\n{r.stdout}{r.stderr}")
    assert r.returncode == 0, r.stdout + r.stderr
    for fid in case.ids:
        assert f"restored {fid}" in r.stdout, r.stdout
    t0 = time.monotonic()
    wait_check_passes(f"check exits 0 after restoring {case.id}")
    print(f"check exits 0 {time.monotonic() - t0:.0f} s after the restore")
