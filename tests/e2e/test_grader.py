"""End to end: the `breakfix` command line on a real kind cluster of its own.

A module fixture creates the kind cluster `breakfix-grader` (node image from
airgap/.build/node-image.ref, kind from airgap/.build/bin) and deletes it at the end. Every
command runs as a subprocess (`python -m breakfix.cli`), like a grader would run it:

  check on the healthy cluster -> exit 0, node checksums identical before/after (read-only proof);
  check --replicas 2 / 3 against `app`;
  for each reference fault: break -> check --json exits 1 naming the root-cause component, its
  changed line against the backup, the proof, the catalog fault and evidence
  -> restore -> check exits 0;
  a break the catalog does not know (a misspelled scheduler flag) -> check names kube-scheduler;
  bad inputs -> exit 2 with one line on stderr.

No sleeps: every wait is breakfix.waits.wait_until with a deadline.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from breakfix.waits import Observation, wait_until

from .support import BIN, IMAGE_REF, breakfix, env, node_exec, create_cluster

pytestmark = pytest.mark.e2e

NAME = "breakfix-grader"
NODE = f"docker://{NAME}-control-plane"
CONTAINER = f"{NAME}-control-plane"
REFERENCE_FAULTS = ["scheduler-command-typo", "controller-manager-kubeconfig-path", "controller-manager-pki-hostpath"]
SCHED = "/etc/kubernetes/manifests/kube-scheduler.yaml"
SCHED_BACKUP = "/root/kube-scheduler.yaml.grader-test"   # outside the manifests dir


def docker(*args: str, timeout: float = 120) -> str:
    return node_exec(CONTAINER, *args, timeout=timeout)


def node_checksums() -> str:
    return docker("sh", "-c", "find /etc/kubernetes /var/lib/kubelet/config.yaml -type f | LC_ALL=C sort "
                              "| xargs sha256sum")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    kind = BIN / "kind"
    if not kind.is_file() or not IMAGE_REF.is_file() or not shutil.which("docker"):
        pytest.skip("needs airgap/.build/bin/kind, airgap/.build/node-image.ref and docker (make node-image)")
    kubeconfig = tmp_path_factory.mktemp("grader") / "kubeconfig"
    subprocess.run([str(kind), "delete", "cluster", "--name", NAME], capture_output=True, env=env(), timeout=300)
    create_cluster(NAME, kubeconfig)
    try:
        from breakfix.kube import Kube
        from breakfix.lab import Lab
        from breakfix.node import Node
        kube = Kube(kubeconfig)
        lab = Lab(kube, Node(NODE), CONTAINER)
        lab.wait_settled("new kind cluster Ready")
        # The lab's application: the grader checks its replica count.
        kube.ensure_deployment("app", "kube-breakfix/app:v1", 2)
        lab.wait_app(2)
        yield kubeconfig
    finally:
        subprocess.run([str(kind), "delete", "cluster", "--name", NAME], capture_output=True, env=env(), timeout=300)


def target(kubeconfig) -> list[str]:
    return ["--kubeconfig", str(kubeconfig), "--node", NODE]


def check_json(kubeconfig, *extra: str) -> tuple[int, dict]:
    r = breakfix("check", *target(kubeconfig), "--json", *extra)
    assert r.stdout.strip(), f"check printed nothing (rc={r.returncode}): {r.stderr}"
    return r.returncode, json.loads(r.stdout)


def failed(report: dict) -> list[dict]:
    return [c for c in report["checks"] if c["status"] == "fail"]


def wait_check_passes(kubeconfig, what: str) -> dict:
    last: dict = {}

    def probe() -> Observation:
        rc, rep = check_json(kubeconfig, "--no-probe-pod")
        last.update(rep)
        return Observation(rc == 0, f"rc={rc} failed={rep['failed']}")
    wait_until(probe, what, 300, interval=5)
    return last


def test_check_healthy_cluster_passes_and_is_read_only(cluster, tmp_path):
    before = node_checksums()
    junit = tmp_path / "grade.xml"
    r = breakfix("check", "--cluster", NAME, "--junit", str(junit))
    after = node_checksums()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "score: 100%" in r.stdout and "all checks passed" in r.stdout
    assert before == after, "grading changed files on the node"
    assert "<testsuites" in junit.read_text() and 'failures="0"' in junit.read_text()
    rc, rep = check_json(cluster)
    assert rc == 0 and rep["passed"] and rep["readonly"]["unchanged"] and rep["score"]["percent"] == 100.0
    assert node_checksums() == before


def test_check_app_replicas(cluster):
    rc, rep = check_json(cluster, "--replicas", "2", "--no-probe-pod")
    assert rc == 0, rep["failed"]
    assert any(c["id"] == "app/app_replicas" and c["passed"] for c in rep["checks"])
    rc, rep = check_json(cluster, "--replicas", "3", "--no-probe-pod")
    assert rc == 1
    [c] = failed(rep)
    assert c["id"] == "app/app_replicas" and "want 3" in c["evidence"]


@pytest.mark.parametrize("fault_id", REFERENCE_FAULTS)
def test_break_check_restore(cluster, fault_id):
    from breakfix.catalog import load_catalog
    fault = load_catalog()[fault_id]
    r = breakfix("break", fault_id, *target(cluster))
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        assert "backup:  /var/lib/kube-breakfix/backups/" in r.stdout
        rc, rep = check_json(cluster)
        assert rc == 1, rep["failed"]
        down = [c for c in failed(rep) if c["component"] == fault.component]
        assert down, f"no failed check of {fault.component}: {rep['failed']}"
        for c in down:
            assert c["evidence"].strip()
            assert c["likely_fault"] and c["likely_fault"]["id"] == fault_id, c
            assert c["likely_fault"]["remediation"] == fault.remediation
        assert rep["verdict"] == "fail"
        roots = [d for d in rep["diagnosis"] if d["role"] == "root-cause"]
        assert [d["component"] for d in roots] == [fault.component], rep["diagnosis"]
        assert roots[0]["changed"] and roots[0]["changed"][0]["baseline_from"] == "backup"
        assert roots[0]["proof"] and roots[0]["catalog"]["id"] == fault_id
        assert rep["readonly"]["unchanged"]
    finally:
        r = breakfix("restore", *target(cluster))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"restored {fault_id}" in r.stdout
    rc, rep = check_json(cluster)
    assert rc == 0, rep["failed"]
    assert "nothing to restore" in breakfix("restore", *target(cluster)).stdout


def test_uncatalogued_break_still_names_the_component(cluster):
    docker("cp", "-p", SCHED, SCHED_BACKUP)
    try:
        # Not in the catalog: a misspelled flag. Written next to the file, then renamed over it.
        docker("sh", "-c", f"sed 's/--leader-elect=true/--leader-elektt=true/' {SCHED_BACKUP} > /root/ks.new "
                           f"&& grep -q leader-elektt /root/ks.new && mv /root/ks.new {SCHED}")
        seen: dict = {}

        def scheduler_down() -> Observation:
            rc, rep = check_json(cluster, "--no-probe-pod")
            seen.update(rep)
            down = [c for c in failed(rep) if c["id"] == "kube-scheduler/pod_ready"]
            return Observation(rc == 1 and bool(down) and "leader-elektt" in down[0]["evidence"],
                               f"rc={rc} failed={rep['failed']}")
        wait_until(scheduler_down, "check names kube-scheduler", 240, interval=5)
        [c] = [c for c in failed(seen) if c["id"] == "kube-scheduler/pod_ready"]
        assert c["likely_fault"] is None          # the catalog does not know it ...
        assert c["component"] == "kube-scheduler"  # ... and the component that is down is still named
        r = breakfix("check", *target(cluster), "--no-probe-pod")
        assert r.returncode == 1
        assert "root cause: kube-scheduler" in r.stdout and "no catalog fault makes this change" in r.stdout
        assert "unknown flag: --leader-elektt" in r.stdout     # the scheduler's own error line is the proof
    finally:
        docker("sh", "-c", f"cp -p {SCHED_BACKUP} /root/ks.restore && mv /root/ks.restore {SCHED} "
                           f"&& rm -f {SCHED_BACKUP}")
    wait_check_passes(cluster, "cluster healthy after putting the scheduler manifest back")


def _one_line_error(r: subprocess.CompletedProcess, text: str) -> None:
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("breakfix: error: ") and text in lines[0], r.stderr


def test_bad_inputs_exit_2_with_one_line(cluster, tmp_path):
    before = node_checksums()
    r = breakfix("check", "--kubeconfig", "/nonexistent", "--node", NODE)
    _one_line_error(r, "kubeconfig /nonexistent not found")
    assert r.stdout == ""
    r = breakfix("check", "--kubeconfig", str(cluster), "--node", "docker://no-such-node")
    _one_line_error(r, "node docker://no-such-node: not reachable")
    assert r.stdout == ""
    r = breakfix("break", "no-such-fault", *target(cluster))
    _one_line_error(r, "unknown fault 'no-such-fault'")
    # Bad credentials: still graded from the node, then exit 2 with one line.
    bad = tmp_path / "bad.kubeconfig"
    import yaml
    kc = yaml.safe_load(Path(cluster).read_text())
    kc["users"][0]["user"] = {"token": "not-a-valid-token"}
    bad.write_text(yaml.safe_dump(kc))
    r = breakfix("check", "--kubeconfig", str(bad), "--node", NODE, "--no-probe-pod")
    _one_line_error(r, "bad credentials")     # bad input: could not grade, before any check
    assert r.stdout == ""
    assert node_checksums() == before
