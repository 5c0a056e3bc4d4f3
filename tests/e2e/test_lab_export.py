"""End to end: the Killercoda scenario `breakfix lab export` writes, its scripts run in the platform's
order on a real kind cluster of its own (`breakfix-lab27`, created here and deleted at the end):
the intro's background sets step 1 up; each step's verify exits non-zero while the step is broken
(showing the learner what is still wrong, not the fix) and 0 once the learner fixed it by hand on the
node; each later step's background sets it up. No sleeps: every wait has a deadline."""
from __future__ import annotations

import subprocess
import sys

import pytest

from breakfix.waits import Observation, wait_until

from .support import ROOT, breakfix, env, module_cluster, node_exec

pytestmark = pytest.mark.e2e

NAME = "breakfix-lab27"
CONTAINER = f"{NAME}-control-plane"
LAB = "control-plane-failure"
MANIFESTS = "/etc/kubernetes/manifests"
# The learner's fix of each step, by hand on the node.
FIX = {
    1: ("s#kube-schedulerrrr#kube-scheduler#", f"{MANIFESTS}/kube-scheduler.yaml"),
    2: ("s#/etc/kubernetes/controller-manager-XXXX.conf#/etc/kubernetes/controller-manager.conf#",
        f"{MANIFESTS}/kube-controller-manager.yaml"),
    3: ("s#/etc/kubernetes/WRONG-PKI-DIRECTORY#/etc/kubernetes/pki#", f"{MANIFESTS}/kube-controller-manager.yaml"),
}


@pytest.fixture(scope="module")
def cluster():
    with module_cluster(NAME):
        yield NAME

def test_exported_scenario_scripts_in_order(cluster, tmp_path):
    d, state = tmp_path / "scenario", tmp_path / "state"
    r = breakfix("lab", "export", LAB, "--format", "killercoda", str(d), "--target", f"--cluster {NAME}",
                 "--install", "", "--app-image", "kube-breakfix/app:v1")
    assert r.returncode == 0, r.stderr
    script_env = env(BREAKFIX_BIN=f"{sys.executable} -m breakfix.cli", BREAKFIX_SCENARIO_STATE=str(state),
                     XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))

    def run(rel: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(d / rel)], capture_output=True, text=True, cwd=ROOT, env=script_env,
                              timeout=timeout)

    try:
        for n in (1, 2, 3):
            setup = run("setup.sh" if n == 1 else f"step{n}/background.sh")
            assert setup.returncode == 0, (state / "setup.log").read_text()
            broken = run(f"step{n}/verify.sh")
            assert broken.returncode == 1, broken.stdout + broken.stderr
            assert "not fixed yet, still wrong:" in broken.stdout, broken.stdout
            assert "catalog:" not in broken.stdout and "changed:" not in broken.stdout
            node_exec(CONTAINER, "sed", "-i", *FIX[n])
            last: dict = {}

            def fixed() -> Observation:
                v = run(f"step{n}/verify.sh")
                last["out"] = v.stdout
                return Observation(v.returncode == 0, v.stdout[-400:])
            wait_until(fixed, f"step {n}'s verify passes after the learner's fix", 420, interval=5)
            assert "fixed: every criterion is met" in last["out"]
    finally:
        r = breakfix("lab", "reset", LAB, "--cluster", NAME, "--app-image", "kube-breakfix/app:v1")
        assert r.returncode == 0, r.stdout + r.stderr
