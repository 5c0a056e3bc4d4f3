"""The offline node image (airgap/) boots a real kind cluster: node Ready, every kube-system pod
Ready, nothing pulled, a workload pod Running, client and server at the pinned version."""
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from breakfix.errors import WaitTimeout
from breakfix.waits import Observation, wait_until

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "airgap" / ".build" / "bin"
REF = ROOT / "airgap" / ".build" / "node-image.ref"
VERSIONS = dict(line.split("=", 1) for line in (ROOT / "airgap" / "versions.env").read_text().splitlines()
                if line and not line.startswith("#"))
K8S = VERSIONS["K8S_VERSION"]
NAME = "breakfix-image-test"

pytestmark = pytest.mark.e2e


def run(*args, timeout=120, check=True, **kw):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=check, env=env, **kw)


def poll(fn, what, deadline_s, interval=2.0):
    """fn() -> (ok, seen); deadline-bound (breakfix.waits), fails with what it saw last."""
    try:
        return wait_until(lambda: Observation(*fn()), what, deadline_s, interval=interval).seen
    except WaitTimeout as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory):
    if not REF.is_file():
        pytest.fail("no node image built: run `make node-image` first")
    image = REF.read_text().strip()
    kc = tmp_path_factory.mktemp("kind") / "kubeconfig"
    run("kind", "delete", "cluster", "--name", NAME, check=False)
    t0 = time.monotonic()
    run("kind", "create", "cluster", "--name", NAME, "--image", image, "--kubeconfig", str(kc), timeout=600)
    print(f"kind create cluster took {time.monotonic() - t0:.1f}s")
    yield kc
    run("kind", "delete", "cluster", "--name", NAME, timeout=300)


def kubectl(kc, *args, timeout=60):
    return run("kubectl", f"--kubeconfig={kc}", *args, timeout=timeout).stdout


def test_control_plane_ready_without_pulls(kubeconfig):
    def all_ready():
        pods = json.loads(kubectl(kubeconfig, "get", "pods", "-n", "kube-system", "-o", "json"))["items"]
        node = json.loads(kubectl(kubeconfig, "get", "nodes", "-o", "json"))["items"][0]
        node_ready = any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])
        not_ready = [p["metadata"]["name"] for p in pods
                     if not all(cs.get("ready") for cs in p["status"].get("containerStatuses", [])) or
                     not p["status"].get("containerStatuses")]
        names = {p["metadata"]["name"].rsplit("-", 1)[0].rsplit("-", 1)[0] for p in pods}
        return node_ready and not not_ready and len(pods) >= 8, f"node ready={node_ready} not ready={not_ready} {names}"

    poll(all_ready, "node and every kube-system pod Ready", 240)
    pods = json.loads(kubectl(kubeconfig, "get", "pods", "-n", "kube-system", "-o", "json"))["items"]
    prefixes = ["etcd-", "kube-apiserver-", "kube-controller-manager-", "kube-scheduler-", "coredns-",
                "kube-proxy-", "breakfix-netd-"]
    for prefix in prefixes:
        assert any(p["metadata"]["name"].startswith(prefix) for p in pods), f"no {prefix}* pod"
    events = kubectl(kubeconfig, "get", "events", "-A", "--field-selector", "reason=Pulling", "-o", "name")
    assert events.strip() == "", f"an image was pulled: {events}"


def test_workload_pod_runs_and_reaches_the_api(kubeconfig):
    kubectl(kubeconfig, "run", "workload", "--image=kube-breakfix/app:v1", "--image-pull-policy=Never",
            "--port=8080")

    def running():
        p = json.loads(kubectl(kubeconfig, "get", "pod", "workload", "-o", "json"))
        return p["status"].get("phase") == "Running" and bool(p["spec"].get("nodeName")), p["status"].get("phase")

    poll(running, "workload pod Running", 120)
    # Pod networking + kube-proxy: CoreDNS (a pod) is Ready only if it reached the API server
    # through the service IP; the app answers on its pod IP from the node.
    ip = json.loads(kubectl(kubeconfig, "get", "pod", "workload", "-o", "json"))["status"]["podIP"]
    node = f"{NAME}-control-plane"
    out = run("docker", "exec", node, "bash", "-c",
              f"exec 3<>/dev/tcp/{ip}/8080; printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3").stdout
    assert "200 OK" in out


def test_versions_match_the_pin(kubeconfig):
    v = json.loads(kubectl(kubeconfig, "version", "-o", "json"))
    assert v["clientVersion"]["gitVersion"] == K8S
    assert v["serverVersion"]["gitVersion"] == K8S
    node = json.loads(kubectl(kubeconfig, "get", "nodes", "-o", "json"))["items"][0]
    assert node["status"]["nodeInfo"]["kubeletVersion"] == K8S
