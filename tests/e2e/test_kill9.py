"""kill -9 at every point of a fault, on a real kind cluster: the suite runs one fault with
BREAKFIX_KILL_AT=<point> (breakfix/killpoints.py) and SIGKILLs itself there; then `breakfix
restore` (or the next pytest run, at its start) must leave every watched node file byte-identical
to before (sha256), no backup, journal or dot-file behind, and the control plane Ready.

`make test` runs a representative subset (one case of each target kind of a single node, both ways of
recovering); `make stress` runs every point x target kind (marker `stress`): a manifest, a
node file with a unit restart, a service, a certificate, a file removed, a file created and an API
object (whose fields, read through the API, must be as before too). The host's container
(`host_container`, kind's load balancer) needs the ha shape: tests/e2e/test_kill9_ha.py. A kill point
a kind never reaches is not a case (NOT_APPLICABLE).

The cluster is `breakfix-kill9` unless BREAKFIX_E2E_KILL9_CLUSTER names another (two runs beside each
other must not share it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from breakfix.killpoints import POINTS
from breakfix.node import BACKUP_DIR, TMP_SUFFIX, WATCHED_PATHS
from breakfix.waits import Observation, wait_until

from .support import BIN, ROOT, env, kill9_cluster
from .support import control_plane_ready as support_ready

pytestmark = pytest.mark.e2e

NAME = os.environ.get("BREAKFIX_E2E_KILL9_CLUSTER") or "breakfix-kill9"
CONTAINER = f"{NAME}-control-plane"
KUBECONFIG = ROOT / ".pytest-kind" / NAME / "kubeconfig"   # where the suite's kind fixture looks
FAULTS = {"manifest": "scheduler-command-typo", "file": "kubelet-apiserver-port", "service": "kubelet-stopped",
          "certificate": "apiserver-serving-cert-expired", "file_removed": "static-pod-manifest-moved-out",
          "file_created": "static-pod-stray-copy", "api_object": "coredns-scaled-to-zero"}
# Points a kind never reaches: a service has no backup and no file to write; only a node file with a
# unit or static pod to restart has a unit restart; a created file and an API object have no backup
# (the journal records that the file did not exist, or the object's original fields).
NOT_APPLICABLE = {("service", "after-backup"), ("service", "during-write"), ("manifest", "during-unit-restart"),
                  ("service", "during-unit-restart"), ("certificate", "during-unit-restart"),
                  ("file_removed", "during-unit-restart"), ("file_created", "after-backup"),
                  ("file_created", "during-unit-restart"), ("api_object", "after-backup"),
                  ("api_object", "during-unit-restart")}
# What an API object fault touches, compared before and after as the API returns it.
API_OBJECTS = ("deployment/coredns", "configmap/coredns")
SUBSET = {("manifest", "during-write", "pytest"), ("file", "during-unit-restart", "cli"),
          ("service", "after-journal", "cli"), ("certificate", "during-write", "cli"),
          ("file_removed", "during-write", "cli"), ("file_created", "after-journal", "cli"),
          ("api_object", "during-observe", "cli")}


def cases():
    out = []
    for target in FAULTS:
        for point in POINTS:
            if (target, point) in NOT_APPLICABLE:
                continue
            for recover in ("cli", "pytest") if (target, point) == ("manifest", "during-write") else ("cli",):
                marks = [] if (target, point, recover) in SUBSET else [pytest.mark.stress]
                out.append(pytest.param(target, point, recover, marks=marks, id=f"{target}-{point}-{recover}"))
    return out


def node_sh(cmd: str, timeout: float = 120) -> str:
    r = subprocess.run(["docker", "exec", CONTAINER, "sh", "-c", cmd], capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"{cmd}: {r.stderr}"
    return r.stdout


def watched_sums() -> str:
    return node_sh(f"find {' '.join(WATCHED_PATHS)} -type f | LC_ALL=C sort | xargs sha256sum")


def api_objects() -> dict:
    """The spec (a ConfigMap's data) of each of API_OBJECTS, as the API returns it."""
    out = {}
    for ref in API_OBJECTS:
        r = subprocess.run([str(BIN / "kubectl"), f"--kubeconfig={KUBECONFIG}", "-n", "kube-system", "get", ref,
                            "-o", "json"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"kubectl get {ref}: {r.stderr}"
        doc = json.loads(r.stdout)
        out[ref] = doc.get("spec", doc.get("data"))
    return out


def state() -> tuple[str, dict]:
    return watched_sums(), api_objects()


ROWS: list[str] = []       # one per case that passed: printed as a table at the end of the module


@pytest.fixture(scope="module")
def baseline(request):
    with kill9_cluster(request, NAME, KUBECONFIG, control_plane_ready, ROWS):
        yield state()


def control_plane_ready() -> Observation:
    return support_ready(KUBECONFIG)


def run_suite(fault: str, tmp_path: Path, tag: str, **extra_env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_faults.py", "--fault", fault, f"--cluster-name={NAME}",
         "--keep-cluster", "-p", "no:cacheprovider", f"--alluredir={tmp_path / tag}",
         f"--timings-file={tmp_path / f'{tag}-timings.json'}", f"--junitxml={tmp_path / f'{tag}.xml'}"],
        cwd=ROOT, capture_output=True, text=True, env=env(**extra_env), timeout=900)


@pytest.mark.parametrize("kind_,point,recover", cases())
def test_kill9_then_replay_restores_everything(baseline, tmp_path, kind_, point, recover):
    fault = FAULTS[kind_]
    killed = run_suite(fault, tmp_path, "killed", BREAKFIX_KILL_AT=point)
    assert killed.returncode == -9, (f"the suite was not killed at {point} (rc={killed.returncode}):\n"
                                     f"{killed.stdout[-3000:]}")
    t0 = time.monotonic()
    if recover == "cli":
        r = subprocess.run([sys.executable, "-m", "breakfix.cli", "restore", "--cluster", NAME],
                           capture_output=True, text=True, cwd=ROOT, env=env(), timeout=900)
        assert r.returncode == 0, f"breakfix restore exited {r.returncode}: {r.stdout}\n{r.stderr}"
    else:   # the next run replays the journal at its start, then runs the fault for real
        r = run_suite(fault, tmp_path, "next")
        assert r.returncode == 0, r.stdout[-3000:]
    wait_until(control_plane_ready, "control plane Ready after the replay", 300, interval=2)
    took = time.monotonic() - t0      # the time to restore: the replay until the control plane is Ready
    print(f"{kind_} ({fault}) killed at {point}: restored by {recover} in {took:.1f} s")
    files, objects = state()
    assert files == baseline[0], "a watched node file differs from before the run"
    assert objects == baseline[1], f"an API object differs from before the run: {objects} != {baseline[1]}"
    ROWS.append(f"| {kind_} (`{fault}`) | {point} | {recover} | restored, {took:.1f} s |")
    left = node_sh(f"ls -A {BACKUP_DIR} 2>/dev/null; find /etc/kubernetes /var/lib/kubelet -name '.*{TMP_SUFFIX}'")
    assert left.strip() == "", f"left behind: {left}"
