"""A newcomer's run, end to end on a real kind cluster: a kind cluster made by hand, then
`pytest suites/test_faults.py --cluster-name=NAME` with a fault file whose symptom cannot appear.
The run says it uses that cluster (one process), prints each phase and the closing table, files the
fault as Failed (a verdict, not Broken), and leaves the cluster in place; the HTML report, read in
headless Chromium, lists the fault as Failed in red with its message, the last state seen and the
diagnostics bundle. The cluster is deleted at the end (BREAKFIX_E2E_VERDICT_CLUSTER names it)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .support import BIN, IMAGE_REF, ROOT, create_cluster, kind
from .test_report_html import CHROMIUM, _chromium, _embedded_json, _leaves, _rendered_tree_leaves, _visible_text

NAME = os.environ.get("BREAKFIX_E2E_VERDICT_CLUSTER", "e2e-verdict")
FAULT_ID = "coredns-scaled-quiet-scheduler"
# CoreDNS scaled to 0 takes effect at once, but the symptom looked for (a pod left unscheduled)
# cannot appear: the scheduler is untouched.
QUIET_FAULT = textwrap.dedent(f"""\
    id: {FAULT_ID}
    component: coredns
    title: CoreDNS scaled to 0, looked for as a scheduler outage
    severity: normal
    target: {{kind: api_object, object: deployment/kube-system/coredns}}
    edits:
      - {{op: set_field, path: spec.replicas, value: 0}}
    symptoms:
      - kind: pod_not_scheduled
        description: "a new pod stays Pending with no node (it cannot: the scheduler is untouched)"
    fix: kubectl -n kube-system scale deployment coredns --replicas=2
    remediation: |
      A fault file whose symptom cannot appear: its test is Failed, with the symptom's last state.
    """)

pytestmark = pytest.mark.e2e


@pytest.fixture
def hand_made_cluster():
    if not (BIN / "kind").is_file() or not IMAGE_REF.is_file() or not shutil.which("docker"):
        pytest.skip("needs airgap/.build/bin/kind, airgap/.build/node-image.ref and docker (make node-image)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"headless Chromium not installed at {CHROMIUM}: `make tools-test` installs it")
    kind("delete", "cluster", "--name", NAME)
    shutil.rmtree(ROOT / ".pytest-kind" / NAME, ignore_errors=True)
    create_cluster(NAME)      # as a user does: `kind create cluster --name NAME`
    yield NAME
    kind("delete", "cluster", "--name", NAME)
    shutil.rmtree(ROOT / ".pytest-kind" / NAME, ignore_errors=True)


def test_a_symptom_that_never_shows_is_failed_in_red_on_the_users_cluster(hand_made_cluster, tmp_path):
    faults = tmp_path / "faults"
    faults.mkdir()
    (faults / f"{FAULT_ID}.yaml").write_text(QUIET_FAULT)
    results = tmp_path / "allure-results"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKFIX_", "PYTEST_"))}
    env["BREAKFIX_TIMEOUT_SYMPTOM"] = "30"     # the symptom never comes: no need to look for it long
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_faults.py", f"--cluster-name={NAME}",
         f"--faults-dir={faults}", f"--alluredir={results}", f"--timings-file={tmp_path / 'timings.json'}",
         "-p", "no:cacheprovider"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out[-3000:]
    # the header says which cluster, and that it stays; no worker cluster was made
    assert (f"kube-breakfix: runs on the existing kind cluster {NAME}, in one process; it was made outside "
            f"this run and is left in place") in r.stdout, out[:3000]
    assert not re.search(rf"\b{NAME}-gw\d", out), out[-3000:]
    # a line per phase as it ends, the test's line with its time, the table
    assert re.search(r"^    settle \d+\.\d s$", r.stdout, re.M) and re.search(r"^    break \d+\.\d s$", r.stdout, re.M)
    assert re.search(rf"test_fault\[{FAULT_ID}\] FAILED \d+\.\d s", r.stdout), out[-3000:]
    assert "kube-breakfix: phases (s) per test" in r.stdout
    assert re.search(rf"^{FAULT_ID}\s+coredns\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\s+.*\bfailed\b", r.stdout, re.M), \
        r.stdout[-3000:]
    # the user's cluster is still there
    assert NAME in kind("get", "clusters").stdout.split()

    from breakfix.report_html import generate_html
    index = generate_html(results, tmp_path / "html")
    html = index.read_text(encoding="utf-8")
    leaves = {leaf["name"]: leaf for leaf in _leaves(_embedded_json(html, "data/suites.json"))}
    leaf = leaves["CoreDNS scaled to 0, looked for as a scheduler outage"]
    assert leaf["status"] == "failed", leaf
    url = f"{index.as_uri()}#suites/{leaf['parentUid']}/{leaf['uid']}/"
    dom = _chromium(url, ["--dump-dom"], tmp_path / "chrome-dom", tmp_path).stdout
    text = _visible_text(dom)
    assert _rendered_tree_leaves(dom).get(leaf["name"]) == "failed", _rendered_tree_leaves(dom)
    assert re.search(r'class="[^"]*status-details_status_failed', dom), "the message is not shown in red"
    assert "breakfix.errors.SymptomNotObserved: SymptomNotObserved: " in text, text[:3000]
    assert "phase=" in text, "the last state seen is not in the message"
    assert "Symptom not observed" in text, "category"
    assert "diagnostics: kubelet journal tail (node)" in text, "the diagnostics bundle is not listed"
    shot = tmp_path / "failed-fault.png"
    _chromium(url, [f"--screenshot={shot}", "--window-size=1400,1000"], tmp_path / "chrome-shot", tmp_path)
    assert shot.is_file()
