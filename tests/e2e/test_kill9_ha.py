"""kill -9 at every point of a fault on the host's container (`host_container`: kind's load balancer
in front of an HA control plane), on a real kind cluster of the ha shape: the suite runs
`ha-load-balancer-stopped` with BREAKFIX_KILL_AT=<point> and SIGKILLs itself there; then `breakfix
restore --cluster` must start the load balancer again from the host's journal, leave every watched
file of the three control-plane nodes byte-identical to before (sha256), no entry in the host's
journal and nothing in any node's backup directory, and the control plane Ready through the load
balancer. `make stress` only (marker `stress`): an HA cluster is four containers.

The cluster is `breakfix-kill9-ha` unless BREAKFIX_E2E_KILL9_HA_CLUSTER names another."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from breakfix.journal import HOST_JOURNAL_DIR, JOURNAL_SUFFIX
from breakfix.node import BACKUP_DIR, WATCHED_PATHS
from breakfix.waits import Observation, wait_until

from .support import ROOT, env, kill9_cluster
from .support import control_plane_ready as support_ready

pytestmark = [pytest.mark.e2e, pytest.mark.stress, pytest.mark.shapes]

NAME = os.environ.get("BREAKFIX_E2E_KILL9_HA_CLUSTER") or "breakfix-kill9-ha"
NODES = [f"{NAME}-control-plane", f"{NAME}-control-plane2", f"{NAME}-control-plane3"]
LOAD_BALANCER = f"{NAME}-external-load-balancer"
KUBECONFIG = ROOT / ".pytest-kind" / NAME / "kubeconfig"   # where the suite's kind fixture looks
FAULT = "ha-load-balancer-stopped"
# The points a host container's fault reaches: it has no backup, no file to write, no unit to restart.
POINTS = ("after-journal", "during-observe", "during-restore")
ROWS: list[str] = []


def node_sh(node: str, cmd: str) -> str:
    r = subprocess.run(["docker", "exec", node, "sh", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{node}: {cmd}: {r.stderr}"
    return r.stdout


def watched_sums() -> dict[str, str]:
    return {n: node_sh(n, f"find {' '.join(WATCHED_PATHS)} -type f | LC_ALL=C sort | xargs sha256sum") for n in NODES}


def load_balancer_running() -> bool:
    r = subprocess.run(["docker", "inspect", "-f", "{{json .State.Running}}", LOAD_BALANCER],
                       capture_output=True, text=True, timeout=30)
    return r.returncode == 0 and json.loads(r.stdout) is True


def control_plane_ready() -> Observation:
    """Through the load balancer (the kubeconfig's server): three Ready nodes, every kube-system pod ready."""
    return support_ready(KUBECONFIG, nodes=3, min_pods=14)


@pytest.fixture(scope="module")
def baseline(request):
    with kill9_cluster(request, NAME, KUBECONFIG, control_plane_ready, ROWS, ROOT / "clusters" / "ha.yaml", 600):
        yield watched_sums()


@pytest.mark.parametrize("point", POINTS)
def test_kill9_of_a_host_container_fault_then_restore_puts_it_back(baseline, tmp_path, point):
    killed = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_faults.py", "--fault", FAULT, f"--cluster-name={NAME}",
         "--cluster-shape=ha", "--keep-cluster", "-p", "no:cacheprovider", f"--alluredir={tmp_path / 'killed'}",
         f"--timings-file={tmp_path / 'timings.json'}", f"--junitxml={tmp_path / 'killed.xml'}"],
        cwd=ROOT, capture_output=True, text=True, env=env(BREAKFIX_KILL_AT=point), timeout=900)
    assert killed.returncode == -9, f"the suite was not killed at {point} (rc={killed.returncode}):\n{killed.stdout[-3000:]}"
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "breakfix.cli", "restore", "--cluster", NAME],
                       capture_output=True, text=True, cwd=ROOT, env=env(), timeout=900)
    assert r.returncode == 0, f"breakfix restore exited {r.returncode}: {r.stdout}\n{r.stderr}"
    wait_until(lambda: Observation(load_balancer_running(), "load balancer not running"), "load balancer running", 60)
    wait_until(control_plane_ready, "control plane Ready through the load balancer after the restore", 300, interval=3)
    took = time.monotonic() - t0
    assert watched_sums() == baseline, "a watched file on a control-plane node differs from before the run"
    assert not (Path(HOST_JOURNAL_DIR) / f"{FAULT}{JOURNAL_SUFFIX}").exists(), "the host's journal entry was left behind"
    for n in NODES:
        left = node_sh(n, f"ls -A {BACKUP_DIR} 2>/dev/null || true")
        assert left.strip() == "", f"{n}: left behind in {BACKUP_DIR}: {left}"
    print(f"host_container ({FAULT}) killed at {point}: restored by cli in {took:.1f} s")
    ROWS.append(f"| host_container (`{FAULT}`) | {point} | cli | restored, {took:.1f} s |")
