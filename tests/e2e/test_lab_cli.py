"""End to end: a grader grades steps 2 and 3 of the reference lab with `breakfix lab setup/check`
on a real kind cluster of its own (`labs-e2e`, created here and deleted at the end).

For each step: `lab setup` (read-write: the app where the step starts, the step's fault, the
learner's symptoms proven) -> `lab check` exits 1 naming what is missing (the crashed component and
the app's replicas), also as JSON, JUnit and Allure results (rendered to the single-file HTML report) -> a second setup is refused (exit 2)
-> the learner's fix, made by hand on the node like a learner would (not our backup) -> `lab check`
exits 0 -> `lab reset` puts the node back byte for byte and the app where the lab starts.
No sleeps: every wait is breakfix.waits.wait_until with a deadline."""
from __future__ import annotations

import json
import subprocess

import pytest

from breakfix.report_html import generate_html
from breakfix.waits import Observation, wait_until

from .support import breakfix, module_cluster, node_exec
from .test_report_html import _embedded_json, _leaves

pytestmark = pytest.mark.e2e

NAME = "labs-e2e"
CONTAINER = f"{NAME}-control-plane"
LAB = "control-plane-failure"
CM = "/etc/kubernetes/manifests/kube-controller-manager.yaml"
# The learner's fix of each step, by hand on the node (sed on the manifest), and what stays missing
# until then.
LEARNER_FIX = {
    2: ("s#/etc/kubernetes/controller-manager-XXXX.conf#/etc/kubernetes/controller-manager.conf#", 2),
    3: ("s#/etc/kubernetes/WRONG-PKI-DIRECTORY#/etc/kubernetes/pki#", 3),
}


def checksums() -> str:
    return node_exec(CONTAINER, "sh", "-c", "find /etc/kubernetes /var/lib/kubelet/config.yaml -type f "
                                            "| LC_ALL=C sort | xargs sha256sum")


@pytest.fixture(scope="module")
def cluster():
    with module_cluster(NAME):
        # the lab starts from a settled control plane (reset waits for it) and the app at 1 replica
        r = breakfix("lab", "reset", LAB, "--cluster", NAME)
        assert r.returncode == 0, r.stdout + r.stderr
        yield NAME

def lab_check(step: int, *extra: str) -> tuple[int, dict, subprocess.CompletedProcess]:
    r = breakfix("lab", "check", LAB, "--step", str(step), "--cluster", NAME, "--json", *extra)
    assert r.stdout.strip(), f"lab check printed nothing (rc={r.returncode}): {r.stderr}"
    return r.returncode, json.loads(r.stdout), r


@pytest.mark.parametrize("step", [2, 3])
def test_lab_step_not_fixed_fails_naming_what_is_missing_then_fixed_passes(cluster, step, tmp_path):
    before = checksums()
    r = breakfix("lab", "setup", LAB, "--step", str(step), "--cluster", NAME)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"lab {LAB} step {step} set up" in r.stdout and "sees:    scale_stuck" in r.stdout, r.stdout
    try:
        # not fixed -> exit 1, naming the crashed component and the replicas the step wants
        junit, allure_dir = tmp_path / "grade.xml", tmp_path / "allure"
        rc, rep, _ = lab_check(step, "--junit", str(junit), "--alluredir", str(allure_dir))
        assert rc == 1, rep["failed"]
        assert rep["verdict"] == "fail" and rep["lab"]["id"] == LAB and rep["lab"]["step"] == step
        assert "kube-controller-manager: pod Ready" in rep["failed"]
        assert "app: replicas Ready" in rep["failed"]
        app = next(c for c in rep["checks"] if c["id"] == "app/app_replicas")
        assert f"want {LEARNER_FIX[step][1]} Ready" in app["evidence"]
        assert rep["readonly"]["unchanged"]
        assert f'name="lab_step" value="{step}"' in junit.read_text()
        results = [json.loads(p.read_text()) for p in allure_dir.glob("*-result.json")]
        assert {r_["name"] for r_ in results if r_["status"] == "failed"} >= {"kube-controller-manager: pod Ready",
                                                                             "app: replicas Ready"}
        assert (allure_dir / "executor.json").is_file()
        # ... which a grader renders into the same single-file report as the suite's
        index = generate_html(allure_dir, tmp_path / "html")
        leaves = {leaf["name"]: leaf["status"] for leaf in _leaves(_embedded_json(index.read_text(), "data/suites.json"))}
        assert leaves["kube-controller-manager: pod Ready"] == "failed" and leaves["app: replicas Ready"] == "failed"

        # another setup on top is refused, nothing changed
        again = breakfix("lab", "setup", LAB, "--step", "1", "--cluster", NAME)
        assert again.returncode == 2 and "run `breakfix lab reset` first" in again.stderr, again.stderr

        # the learner fixes the manifest by hand; the grade turns to pass
        node_exec(CONTAINER, "sed", "-i", LEARNER_FIX[step][0], CM)
        last: dict = {}

        def graded() -> Observation:
            rc_, rep_, _ = lab_check(step)
            last.update(rep_, rc=rc_)
            return Observation(rc_ == 0, f"rc={rc_} failed={rep_['failed']}")
        wait_until(graded, f"lab check {LAB} --step {step} passes after the fix", 420, interval=5)
        assert last["verdict"] == "pass" and last["rc"] == 0
        app = next(c for c in last["checks"] if c["id"] == "app/app_replicas")
        assert app["passed"] and f"ready={LEARNER_FIX[step][1]}" in app["evidence"]
        assert next(c for c in last["checks"] if c["id"] == "kube-scheduler/pod-bound")["passed"]
    finally:
        r = breakfix("lab", "reset", LAB, "--cluster", NAME)
        assert r.returncode == 0, r.stdout + r.stderr
    assert checksums() == before, "lab reset did not put the node back byte for byte"
    assert "ready=1" in r.stdout
