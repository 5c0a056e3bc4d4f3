"""What every end-to-end test needs: where the offline build put kind, kubectl and the node image,
and how to call kind, `docker exec` on a node and the breakfix command line as a user would."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "airgap" / ".build" / "bin"
IMAGE_REF = ROOT / "airgap" / ".build" / "node-image.ref"


def env(**extra: str) -> dict:
    """The environment of a command under test: the offline kind/kubectl first on PATH, and no
    test-only crash point inherited."""
    e = {k: v for k, v in os.environ.items() if k != "BREAKFIX_KILL_AT"}
    e["PATH"] = f"{BIN}:{e.get('PATH', '')}"
    return {**e, **extra}


def kind(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "kind"), *args], capture_output=True, text=True, env=env(), timeout=timeout)


def node_exec(container: str, *args: str, timeout: float = 120) -> str:
    """Run ARGS in the node container; its stdout (the test fails on a non-zero exit)."""
    r = subprocess.run(["docker", "exec", container, *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"docker exec {container} {args}: {r.stderr}"
    return r.stdout


def breakfix(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """The breakfix command line, as a grader runs it."""
    return subprocess.run([sys.executable, "-m", "breakfix.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env(), timeout=timeout)


def create_cluster(name: str, kubeconfig=None, config=None) -> None:
    """`kind create cluster` from the offline node image, as the suite does it (fixtures/cluster.py):
    kind's own reason in the error, Docker's host-port race retried once."""
    from fixtures.cluster import create_kind_cluster
    create_kind_cluster(name, str(BIN / "kind"), kubeconfig, IMAGE_REF.read_text().strip(), config)


@contextlib.contextmanager
def module_cluster(name: str, kubeconfig=None, settle: bool = False):
    """A kind cluster of a test module's own, NAME: made from the offline node image (skipped when
    the image or kind is not built), deleted at the end whatever happened. SETTLE: wait until the
    whole control plane is Ready, as the suite does before a fault."""
    import pytest
    if not (BIN / "kind").is_file() or not IMAGE_REF.is_file() or not shutil.which("docker"):
        pytest.skip("needs airgap/.build/bin/kind, airgap/.build/node-image.ref and docker (make node-image)")
    kind("delete", "cluster", "--name", name, timeout=300)
    create_cluster(name, kubeconfig)
    try:
        if settle:
            from breakfix.kube import Kube
            from breakfix.lab import Lab
            from breakfix.node import Node
            Lab(Kube(kubeconfig), Node(f"docker://{name}-control-plane"), f"{name}-control-plane").wait_settled(
                "new kind cluster Ready")
        yield name
    finally:
        kind("delete", "cluster", "--name", name, timeout=300)


def create_cluster_on_network(name: str, network: str, kubeconfig=None) -> None:
    """`create_cluster` on a Docker network of its own (made anew), so that its node's address stays
    apart from other runs' clusters (kind reads KIND_EXPERIMENTAL_DOCKER_NETWORK)."""
    subprocess.run(["docker", "network", "rm", network], capture_output=True, timeout=60)
    net = subprocess.run(["docker", "network", "create", network], capture_output=True, text=True, timeout=60)
    assert net.returncode == 0, f"docker network create {network}: {net.stderr}"
    os.environ["KIND_EXPERIMENTAL_DOCKER_NETWORK"] = network
    try:
        create_cluster(name, kubeconfig)
    finally:
        os.environ.pop("KIND_EXPERIMENTAL_DOCKER_NETWORK", None)


def print_rows(request, header: str, rows: list[str]) -> None:
    """Lines printed at the end of a module's run (a table of its cases), past pytest's capture."""
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    capman = request.config.pluginmanager.get_plugin("capturemanager")
    if tr and capman and rows:
        with capman.global_and_fixture_disabled():
            if header:
                tr.write_line(header)
            for row in rows:
                tr.write_line(row)


def control_plane_ready(kubeconfig: Path, nodes: int = 1, min_pods: int = 8):
    """Through KUBECONFIG's server: NODES Ready nodes and at least MIN_PODS kube-system pods, every
    container of theirs ready. An Observation (breakfix.waits), for wait_until."""
    from breakfix.waits import Observation
    out = subprocess.run([str(BIN / "kubectl"), f"--kubeconfig={kubeconfig}", "get", "pods,nodes", "-A", "-o", "json",
                          "--request-timeout=10s"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return Observation(False, out.stderr.strip()[-200:])
    items = json.loads(out.stdout)["items"]
    pods = [i for i in items if i["kind"] == "Pod" and i["metadata"]["namespace"] == "kube-system"]
    seen = [i for i in items if i["kind"] == "Node"]
    bad = [p["metadata"]["name"] for p in pods
           if not p["status"].get("containerStatuses") or not all(c["ready"] for c in p["status"]["containerStatuses"])]
    bad += [n["metadata"]["name"] for n in seen
            if not any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])]
    return Observation(not bad and len(seen) == nodes and len(pods) >= min_pods,
                       f"{len(seen)} of {nodes} nodes, {len(pods)} kube-system pods; not ready: {bad or 'none'}")


KILL9_HEADER = "\n| target kind (fault) | killed at | recovered by | seen, time to restore |\n|---|---|---|---|"


@contextlib.contextmanager
def kill9_cluster(request, name: str, kubeconfig: Path, ready, rows: list[str], config=None, timeout: float = 300):
    """A kill -9 module's own kind cluster NAME (of CONFIG, a clusters/ file; single when None): made
    anew, READY (an Observation probe) awaited, deleted at the end whatever happened, then ROWS
    printed as the module's table of cases."""
    import pytest
    from breakfix.waits import wait_until
    if not (BIN / "kind").is_file() or not IMAGE_REF.is_file() or not shutil.which("docker"):
        pytest.fail("needs airgap/.build/bin/kind, airgap/.build/node-image.ref and docker: run `make node-image`")
    kind("delete", "cluster", "--name", name)
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    create_cluster(name, kubeconfig, config)
    try:
        wait_until(ready, f"new cluster {name} Ready", timeout, interval=2)
        yield
    finally:
        kind("delete", "cluster", "--name", name)
        print_rows(request, KILL9_HEADER, rows)
