"""Ctrl-C in the middle of a fault leaves a healthy cluster: the suite's own restore runs on
KeyboardInterrupt, the manifest is byte-identical to before and the control plane is Ready."""
import json
import os
import signal
import subprocess
import sys

import pytest

from breakfix.waits import Observation, wait_until

from .support import BIN, ROOT, kind

NAME = "breakfix-interrupt"
NODE = f"{NAME}-control-plane"
FAULT = "controller-manager-kubeconfig-path"
MANIFEST = "/etc/kubernetes/manifests/kube-controller-manager.yaml"
JOURNAL = f"/var/lib/kube-breakfix/backups/{FAULT}.breakfix.json"

pytestmark = pytest.mark.e2e


def node_sh(cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "exec", NODE, "sh", "-c", cmd], capture_output=True, text=True, timeout=60)


@pytest.fixture
def interrupted_run(tmp_path):
    kind("delete", "cluster", "--name", NAME)
    log = open(tmp_path / "suite.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "suites/test_faults.py", "--fault", FAULT, f"--cluster-name={NAME}",
         "--keep-cluster", "-p", "no:cacheprovider", f"--alluredir={tmp_path / 'allure'}",
         f"--timings-file={tmp_path / 'timings.json'}"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        # A suite started from a background job (CI, `make ... &`) inherits SIGINT ignored, and Python
        # then never turns Ctrl-C into KeyboardInterrupt: give it the terminal's default, as a user has.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        yield proc, tmp_path / "suite.log"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        kind("delete", "cluster", "--name", NAME)


def test_ctrl_c_mid_fault_restores_the_cluster(interrupted_run):
    proc, log = interrupted_run

    def fault_in_place() -> Observation:
        if proc.poll() is not None:
            pytest.fail(f"suite ended before the fault: {log.read_text()[-2000:]}")
        j = node_sh(f"cat {JOURNAL}")
        if j.returncode != 0:
            return Observation(False, "no journal yet")
        backup = json.loads(j.stdout)["backup"]
        sums = node_sh(f"sha256sum {MANIFEST} {backup}").stdout.split()
        changed = len(sums) == 4 and sums[0] != sums[2]
        return Observation(changed, f"manifest {sums[:1]} backup {sums[2:3]}")

    wait_until(fault_in_place, "the fault applied by the suite", 900, interval=1)
    original = node_sh(f"sha256sum $(jq -r .backup {JOURNAL}) | cut -d' ' -f1").stdout.strip()
    assert original

    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends to the foreground group
    proc.wait(timeout=600)
    text = log.read_text()
    assert "KeyboardInterrupt" in text, text[-2000:]

    now = node_sh(f"sha256sum {MANIFEST} | cut -d' ' -f1").stdout.strip()
    assert now == original, "manifest not restored byte for byte"
    assert node_sh("ls -A /var/lib/kube-breakfix/backups").stdout.strip() == "", "backup or journal left behind"

    kc = ROOT / ".pytest-kind" / NAME / "kubeconfig"

    def healthy() -> Observation:
        out = subprocess.run([str(BIN / "kubectl"), f"--kubeconfig={kc}", "get", "pods", "-n", "kube-system",
                              "-o", "json"], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            return Observation(False, out.stderr.strip()[-200:])
        pods = json.loads(out.stdout)["items"]
        bad = [p["metadata"]["name"] for p in pods
               if not p["status"].get("containerStatuses")
               or not all(c["ready"] for c in p["status"]["containerStatuses"])]
        return Observation(not bad and len(pods) >= 8, f"not ready: {bad}")

    wait_until(healthy, "every kube-system pod Ready after the interrupt", 300, interval=2)
