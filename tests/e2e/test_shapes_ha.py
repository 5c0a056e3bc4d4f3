"""The ha shape end to end, offline: the suite creates a three-control-plane kind cluster from
clusters/ha.yaml with kind's load balancer running our kindest/haproxy image (airgap/haproxy-image.sh),
pulls nothing (Docker's own image events during the run), and one HA fault passes with its timing in
the timings file; then faults left on two other members by `breakfix break --node` are all put back,
byte for byte, by one `breakfix restore --cluster` (every node of the cluster); last, the suite is
killed (-9) during the observation of `ha-load-balancer-stopped` (make test's case of the host's
container; every point of it: tests/e2e/test_kill9_ha.py) and `breakfix restore --cluster` starts the
load balancer again from the host's journal. Cluster names start with shapes- (marker `shapes`:
`pytest -m shapes tests/e2e`; BREAKFIX_E2E_HA_CLUSTER names another)."""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from .support import BIN, IMAGE_REF, ROOT, breakfix, kind

NAME = os.environ.get("BREAKFIX_E2E_HA_CLUSTER") or "shapes-e2e-ha"
LB_IMAGE = dict(line.split("=", 1) for line in (ROOT / "airgap" / "versions.env").read_text().splitlines()
                if "=" in line and not line.startswith("#"))["KIND_HAPROXY_IMAGE"].strip()

pytestmark = [pytest.mark.e2e, pytest.mark.shapes]


@pytest.fixture
def offline_ready():
    if not (BIN / "kind").is_file() or not IMAGE_REF.is_file() or not shutil.which("docker"):
        pytest.skip("needs airgap/.build/bin/kind, airgap/.build/node-image.ref and docker (make node-image)")
    r = subprocess.run(["docker", "image", "inspect", LB_IMAGE], capture_output=True, text=True)
    assert r.returncode == 0, f"{LB_IMAGE} is not built: make node-image builds it (airgap/haproxy-image.sh)"
    kind("delete", "cluster", "--name", NAME)
    yield
    kind("delete", "cluster", "--name", NAME)


def test_ha_cluster_offline_and_one_ha_fault(offline_ready, tmp_path):
    since = str(int(time.time()))
    timings = tmp_path / "timings.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKFIX_", "PYTEST_"))}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_faults.py", f"--cluster-name={NAME}", "--cluster-shape=ha",
         "--fault=ha-scheduler-leader-stopped", "--keep-cluster", f"--timings-file={timings}",
         "-p", "no:cacheprovider", "-v"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=2400)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "1 passed" in r.stdout.splitlines()[-1], out[-2000:]
    # Nothing was pulled: Docker's image events since the start hold no pull.
    ev = subprocess.run(["docker", "events", "--since", since, "--until", str(int(time.time()) + 1),
                         "--filter", "type=image", "--format", "{{json .}}"],
                        capture_output=True, text=True, timeout=60)
    pulls = [json.loads(x) for x in ev.stdout.splitlines() if x.strip() and json.loads(x).get("Action") == "pull"]
    assert not pulls, f"images were pulled: {pulls}"
    # Three members and the load balancer, running the image built here.
    ps = subprocess.run(["docker", "ps", "--filter", f"label=io.x-k8s.kind.cluster={NAME}",
                         "--format", "{{json .}}"], capture_output=True, text=True, timeout=60)
    rows = [json.loads(x) for x in ps.stdout.splitlines() if x.strip()]
    names = sorted(row["Names"] for row in rows)
    assert names == sorted([f"{NAME}-control-plane", f"{NAME}-control-plane2", f"{NAME}-control-plane3",
                            f"{NAME}-external-load-balancer"]), names
    lb = next(row for row in rows if row["Names"].endswith("external-load-balancer"))
    assert lb["Image"] == LB_IMAGE
    # The hand-over was measured and reported.
    rows = json.loads(timings.read_text())["phases"]
    handover = [t for t in rows if t.get("name") == "lease kube-scheduler hand-over"]
    assert handover and handover[0]["seconds"] > 0, rows

    # Faults left on two members (a lab author's `breakfix break --node`): one `breakfix restore
    # --cluster` replays every node's journal and the files are back byte for byte.
    members = {2: "ha-apiserver-member-down", 3: "ha-etcd-member-down"}
    before = {i: manifest_sums(f"{NAME}-control-plane{i}") for i in members}
    for i, fault in members.items():
        r = breakfix("break", fault, "--cluster", NAME, "--node", f"docker://{NAME}-control-plane{i}")
        assert r.returncode == 0, f"break {fault} on member {i}: {r.stdout}\n{r.stderr}"
        assert manifest_sums(f"{NAME}-control-plane{i}") != before[i]
    r = breakfix("restore", "--cluster", NAME)
    assert r.returncode == 0, f"restore --cluster: {r.stdout}\n{r.stderr}"
    for i, fault in members.items():
        assert f"restored {fault} on docker://{NAME}-control-plane{i}" in r.stdout, r.stdout
        assert manifest_sums(f"{NAME}-control-plane{i}") == before[i]
    assert "control plane Ready again (2 fault(s) restored)" in r.stdout, r.stdout
    assert "nothing to restore" in breakfix("restore", "--cluster", NAME).stdout

    # kill -9 with the load balancer stopped: kind can no longer tell the API address, the restore
    # starts the load balancer from the host's journal first, then waits for the control plane.
    before = {i: manifest_sums(f"{NAME}-control-plane{'' if i == 1 else i}") for i in (1, 2, 3)}
    killed = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_faults.py", f"--cluster-name={NAME}", "--cluster-shape=ha",
         "--fault=ha-load-balancer-stopped", "--keep-cluster", f"--timings-file={tmp_path / 'killed.json'}",
         "-p", "no:cacheprovider"],
        cwd=ROOT, env={**env, "BREAKFIX_KILL_AT": "during-observe"}, capture_output=True, text=True, timeout=900)
    assert killed.returncode == -9, f"not killed during the observation (rc={killed.returncode}): {killed.stdout[-2000:]}"
    r = breakfix("restore", "--cluster", NAME)
    assert r.returncode == 0, f"restore --cluster after kill -9: {r.stdout}\n{r.stderr}"
    assert "restored ha-load-balancer-stopped on this machine" in r.stdout, r.stdout
    assert "control plane Ready again (1 fault(s) restored)" in r.stdout, r.stdout
    running = subprocess.run(["docker", "inspect", "-f", "{{json .State.Running}}", f"{NAME}-external-load-balancer"],
                             capture_output=True, text=True, timeout=30)
    assert running.stdout.strip() == "true", running.stdout + running.stderr
    assert {i: manifest_sums(f"{NAME}-control-plane{'' if i == 1 else i}") for i in (1, 2, 3)} == before


def manifest_sums(container: str) -> str:
    r = subprocess.run(["docker", "exec", container, "sh", "-c", "sha256sum /etc/kubernetes/manifests/*"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip(), r.stderr
    return r.stdout
