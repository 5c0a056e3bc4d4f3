"""End to end: the kind node restarts (`docker restart`) while the suite runs a fault with the fault in
place (issue 26). The test in progress fails with one line, decided from the node container's state
(`docker inspect`: StartedAt, breakfix/restarts.py), and the run stops; the next run replays the
journal at its start, puts every watched node file back byte for byte and passes, and the control
plane is Ready.

The cluster (`breakfix-restart`, or BREAKFIX_E2E_RESTART_CLUSTER) has a Docker network of its own:
a restarted kind node keeps its address only there (docs/reliability.md). No sleeps: the restart
waits until the fault's file differs on the node (its sha256), every wait has a deadline.

Marker `stress` (`make stress`): it restarts a node under a whole suite run (about 6 min)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from breakfix.node import BACKUP_DIR, WATCHED_PATHS
from breakfix.waits import Observation, wait_until

from .support import BIN, IMAGE_REF, ROOT, create_cluster_on_network, env, kind

pytestmark = [pytest.mark.e2e, pytest.mark.stress]

NAME = os.environ.get("BREAKFIX_E2E_RESTART_CLUSTER") or "breakfix-restart"
CONTAINER = f"{NAME}-control-plane"
KUBECONFIG = ROOT / ".pytest-kind" / NAME / "kubeconfig"   # where the suite's kind fixture looks
FAULT, TARGET = "scheduler-command-typo", "/etc/kubernetes/manifests/kube-scheduler.yaml"


def node_sh(cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", CONTAINER, "sh", "-c", cmd], capture_output=True, text=True,
                          timeout=timeout)


def watched_sums() -> str:
    r = node_sh(f"find {' '.join(WATCHED_PATHS)} -type f | LC_ALL=C sort | xargs sha256sum")
    assert r.returncode == 0, r.stderr
    return r.stdout


def started_at() -> str:
    return subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", CONTAINER], capture_output=True,
                          text=True, timeout=30).stdout.strip()


@pytest.fixture(scope="module")
def baseline():
    if not (BIN / "kind").is_file() or not IMAGE_REF.is_file() or not shutil.which("docker"):
        pytest.fail("needs airgap/.build/bin/kind, airgap/.build/node-image.ref and docker: run `make node-image`")
    kind("delete", "cluster", "--name", NAME, timeout=300)
    KUBECONFIG.parent.mkdir(parents=True, exist_ok=True)
    create_cluster_on_network(NAME, NAME, KUBECONFIG)
    try:
        from breakfix.kube import Kube
        from breakfix.lab import Lab
        from breakfix.node import Node
        Lab(Kube(KUBECONFIG), Node(f"docker://{CONTAINER}"), CONTAINER).wait_settled("new kind cluster Ready")
        yield watched_sums()
    finally:
        kind("delete", "cluster", "--name", NAME, timeout=300)
        subprocess.run(["docker", "network", "rm", NAME], capture_output=True, timeout=60)
        shutil.rmtree(KUBECONFIG.parent, ignore_errors=True)


def suite(tmp_path, tag: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "suites/test_faults.py", "--fault", FAULT, f"--cluster-name={NAME}",
            "--keep-cluster", "-p", "no:cacheprovider", f"--alluredir={tmp_path / tag}",
            f"--timings-file={tmp_path / f'{tag}-timings.json'}", f"--junitxml={tmp_path / f'{tag}.xml'}"]


def test_node_restart_under_the_suite_fails_one_line_then_next_run_restores(baseline, tmp_path):
    target_sum = next(ln.split()[0] for ln in baseline.splitlines() if ln.endswith(" " + TARGET))
    before_start = started_at()
    run = subprocess.Popen(suite(tmp_path, "restarted"), cwd=ROOT, env=env(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        def fault_in_place() -> Observation:
            assert run.poll() is None, f"the suite ended (exit {run.returncode}) before its fault was in place"
            r = node_sh(f"sha256sum {TARGET}", timeout=30)
            now = r.stdout.split()[0] if r.returncode == 0 and r.stdout else "(unreadable)"
            return Observation(now not in (target_sum, "(unreadable)"), f"{TARGET} sha256 {now[:12]}")
        wait_until(fault_in_place, f"{FAULT} in place on the node", 600, interval=0.5)
        t_restart = time.monotonic()
        rs = subprocess.run(["docker", "restart", CONTAINER], capture_output=True, text=True, timeout=180)
        assert rs.returncode == 0, rs.stderr
        out, _ = run.communicate(timeout=900)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(timeout=30)
    ended_s = time.monotonic() - t_restart
    assert started_at() != before_start
    (tmp_path / "restarted.out").write_text(out)
    assert run.returncode == 1, f"exit {run.returncode} (the whole output: {tmp_path / 'restarted.out'}): {out[-3000:]}"
    lines = out.splitlines()
    said = [ln for ln in lines if ln.startswith(f"kube-breakfix: node {CONTAINER} restarted at ")]
    assert len(said) == 1, out[-3000:]
    assert f"while {FAULT} was in place" in said[0] and f"`breakfix restore --cluster {NAME}`" in said[0]
    # -ra's summary: one line for the test (BROKEN: a restart is no verdict on the fault), no traceback
    summary = [ln for ln in lines if ln.startswith(("FAILED ", "BROKEN ", "ERROR "))]
    assert "Traceback" not in out and len(summary) == 1, out[-3000:]
    assert f"suites/test_faults.py::test_fault[{FAULT}]" in summary[0], summary
    left = node_sh(f"ls -A {BACKUP_DIR}").stdout.split()
    print(f"\nnode restarted {ended_s:.1f} s before the suite ended; one line: {said[0]}\nleft on the node: {left}")

    t0 = time.monotonic()
    nxt = subprocess.run(suite(tmp_path, "next") + ["suites/test_after_all.py"], cwd=ROOT, env=env(),
                         capture_output=True, text=True, timeout=1200)
    took = time.monotonic() - t0
    assert nxt.returncode == 0, nxt.stdout[-3000:]
    assert watched_sums() == baseline, "a watched node file differs from before the run"
    assert node_sh(f"ls -A {BACKUP_DIR} 2>/dev/null; true").stdout.strip() == "", "journal or backup left"
    print(f"next run: exit 0 in {took:.1f} s (leftovers replayed, {FAULT} run again, byte-identity check)")
