"""`pytest --cluster-name=NAME` for a kind cluster made by hand (`kind create cluster --name NAME`):
the suite has no kubeconfig of its own for it (.pytest-kind/NAME/kubeconfig), which made
pytest-kind-ng fail with a pykube traceback. Now the suite writes that kubeconfig from
`kind get kubeconfig`, runs, and leaves the cluster in place (it is not ours to delete).

The unit side (the decision, with a fake kind) is in tests/unit/test_bad_input.py."""
import os
import shutil
import subprocess
import sys

import pytest

from .support import BIN, IMAGE_REF, ROOT, kind, create_cluster

NAME = "breakfix-byhand"
OUR_KUBECONFIG = ROOT / ".pytest-kind" / NAME / "kubeconfig"

pytestmark = pytest.mark.e2e


@pytest.fixture
def hand_made_cluster(tmp_path):
    if not (BIN / "kind").is_file() or not IMAGE_REF.is_file() or not shutil.which("docker"):
        pytest.skip("needs airgap/.build/bin/kind, airgap/.build/node-image.ref and docker (make node-image)")
    kind("delete", "cluster", "--name", NAME)
    shutil.rmtree(OUR_KUBECONFIG.parent, ignore_errors=True)
    create_cluster(NAME, tmp_path / "by-hand.kubeconfig")      # a user's kubeconfig, not ours
    assert not OUR_KUBECONFIG.exists()
    try:
        yield
    finally:
        kind("delete", "cluster", "--name", NAME)
        shutil.rmtree(OUR_KUBECONFIG.parent, ignore_errors=True)


def test_suite_runs_on_a_hand_made_kind_cluster_and_leaves_it(hand_made_cluster, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKFIX_", "PYTEST_"))}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_grading.py", f"--cluster-name={NAME}",
         f"--timings-file={tmp_path / 'timings.json'}", "-p", "no:cacheprovider"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "NoneType" not in out, out[-3000:]
    assert r.returncode == 0, out[-3000:]
    assert OUR_KUBECONFIG.is_file() and OUR_KUBECONFIG.stat().st_size > 0
    assert NAME in kind("get", "clusters").stdout.split(), "the suite deleted a cluster it did not create"
