"""kill -9 at every point of a fault, on a real kind cluster: the suite runs one fault with
BREAKFIX_KILL_AT=<point> (breakfix/killpoints.py) and SIGKILLs itself there; then `breakfix
restore` (or the next pytest run, at its start) must leave every watched node file byte-identical
to before (sha256), no backup, journal or dot-file behind, and the control plane Ready.

`make test` runs a representative subset (one case per target kind, both ways of recovering);
`make stress` runs every point x target kind (marker `stress`)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from breakfix.killpoints import POINTS
from breakfix.node import BACKUP_DIR, TMP_SUFFIX, WATCHED_PATHS
from breakfix.waits import Observation, wait_until

from .support import BIN, IMAGE_REF, ROOT, env, kind, create_cluster

pytestmark = pytest.mark.e2e

NAME = "breakfix-kill9"
CONTAINER = f"{NAME}-control-plane"
KUBECONFIG = ROOT / ".pytest-kind" / NAME / "kubeconfig"   # where the suite's kind fixture looks
FAULTS = {"manifest": "scheduler-command-typo", "file": "kubelet-apiserver-port", "service": "kubelet-stopped"}
NOT_APPLICABLE = {("service", "after-backup"), ("service", "during-write"), ("manifest", "during-unit-restart"),
                  ("service", "during-unit-restart")}
SUBSET = {("manifest", "during-write", "pytest"), ("file", "during-unit-restart", "cli"),
          ("service", "after-journal", "cli")}


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


@pytest.fixture(scope="module")
def baseline():
    if not (BIN / "kind").is_file() or not IMAGE_REF.is_file() or not shutil.which("docker"):
        pytest.fail("needs airgap/.build/bin/kind, airgap/.build/node-image.ref and docker: run `make node-image`")
    kind("delete", "cluster", "--name", NAME)
    KUBECONFIG.parent.mkdir(parents=True, exist_ok=True)
    create_cluster(NAME, KUBECONFIG)
    try:
        wait_until(control_plane_ready, "new cluster Ready", 300, interval=2)
        yield watched_sums()
    finally:
        kind("delete", "cluster", "--name", NAME)


def control_plane_ready() -> Observation:
    out = subprocess.run([str(BIN / "kubectl"), f"--kubeconfig={KUBECONFIG}", "get", "pods,nodes", "-A", "-o", "json"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return Observation(False, out.stderr.strip()[-200:])
    items = json.loads(out.stdout)["items"]
    pods = [i for i in items if i["kind"] == "Pod" and i["metadata"]["namespace"] == "kube-system"]
    nodes = [i for i in items if i["kind"] == "Node"]
    bad = [p["metadata"]["name"] for p in pods
           if not p["status"].get("containerStatuses") or not all(c["ready"] for c in p["status"]["containerStatuses"])]
    bad += [n["metadata"]["name"] for n in nodes
            if not any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])]
    return Observation(not bad and len(pods) >= 8 and nodes, f"not ready: {bad or 'no pods yet'}")


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
    if recover == "cli":
        r = subprocess.run([sys.executable, "-m", "breakfix.cli", "restore", "--cluster", NAME],
                           capture_output=True, text=True, cwd=ROOT, env=env(), timeout=900)
        assert r.returncode == 0, f"breakfix restore exited {r.returncode}: {r.stdout}\n{r.stderr}"
    else:   # the next run replays the journal at its start, then runs the fault for real
        r = run_suite(fault, tmp_path, "next")
        assert r.returncode == 0, r.stdout[-3000:]
    wait_until(control_plane_ready, "control plane Ready after the replay", 300, interval=2)
    assert watched_sums() == baseline, "a watched node file differs from before the run"
    left = node_sh(f"ls -A {BACKUP_DIR} 2>/dev/null; find /etc/kubernetes /var/lib/kubelet -name '.*{TMP_SUFFIX}'")
    assert left.strip() == "", f"left behind: {left}"
