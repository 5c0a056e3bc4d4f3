"""End to end: the Docker daemon restarts while a fault is in place (issue 26), on a second Docker
daemon of this test's own: the machine's daemon runs other clusters and is never restarted.

The second dockerd has its own socket, data root, exec root, pid file and cgroup parent, no default
bridge (a dockerd shares the host's network namespace and deletes the host's docker0 as it starts
when it has no default bridge, or a stale one in its store: the test puts docker0 back at once, with
the address the machine's daemon gave it, and checks the machine's daemon still starts a container
at the end; a `docker run` on the machine's daemon in that second may fail), leaves iptables alone (the machine's daemon owns the host's rules; a kind node is reached
through Docker's userland proxy on 127.0.0.1) and takes its networks from an address pool no route
of the host uses (checked before it starts). The node image is copied into it (`docker save` from
the machine's daemon, `docker load` into it, once: its data root keeps it), a kind cluster is made
there (DOCKER_HOST), `breakfix break` puts a fault in place, and the daemon is stopped (SIGTERM) and
started again. What Docker does with the node is read from its own state, not from its log: the
container's record on disk while the daemon is down (`containers/<id>/config.v2.json`: exit code,
FinishedAt, stopped by hand or not) and `docker inspect` once it is back (StartedAt, RestartCount, its
restart policy). Then `breakfix restore --cluster` must put every watched node file back byte for
byte with the control plane Ready.

Marker `stress` (`make stress`): the image copy, a second daemon and a cluster take minutes.
BREAKFIX_E2E_DOCKERD2 names the daemon (its paths: /run/NAME.sock, /var/lib/NAME, /run/NAME,
/run/NAME.pid), BREAKFIX_E2E_DOCKERD2_CLUSTER the cluster, BREAKFIX_E2E_DOCKERD2_POOL its address
pool."""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from breakfix.node import BACKUP_DIR, WATCHED_PATHS
from breakfix.waits import Observation, wait_until

from .support import BIN, IMAGE_REF, ROOT, env, print_rows

pytestmark = [pytest.mark.e2e, pytest.mark.stress]

DAEMON = os.environ.get("BREAKFIX_E2E_DOCKERD2") or "breakfix-dockerd2"
NAME = os.environ.get("BREAKFIX_E2E_DOCKERD2_CLUSTER") or "breakfix-dockerd2"
POOL = os.environ.get("BREAKFIX_E2E_DOCKERD2_POOL") or "10.213.0.0/16"
SOCK, DATA, EXEC, PIDFILE = f"/run/{DAEMON}.sock", f"/var/lib/{DAEMON}", f"/run/{DAEMON}", f"/run/{DAEMON}.pid"
HOST = f"unix://{SOCK}"
CONTAINER = f"{NAME}-control-plane"
FAULT = "scheduler-command-typo"
MAIN_CONFIG = Path("/etc/docker/daemon.json")
ROWS: list[str] = []


def env2(**extra) -> dict:
    return env(DOCKER_HOST=HOST, **extra)


def d2(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "-H", HOST, *args], capture_output=True, text=True, timeout=timeout, **kw)


def node_sh(cmd: str) -> str:
    r = d2("exec", CONTAINER, "sh", "-c", cmd)
    assert r.returncode == 0, f"{cmd}: {r.stderr}"
    return r.stdout


def watched_sums() -> str:
    return node_sh(f"find {' '.join(WATCHED_PATHS)} -type f | LC_ALL=C sort | xargs sha256sum")


def pool_is_free(pool: str) -> str | None:
    """None when no route of the host overlaps POOL, else the route that does."""
    net = ipaddress.ip_network(pool)
    routes = json.loads(subprocess.run(["ip", "-j", "-4", "route"], capture_output=True, text=True,
                                       timeout=30).stdout or "[]")
    for r in routes:
        dst = r.get("dst")
        if dst and dst != "default" and ipaddress.ip_network(dst if "/" in dst else f"{dst}/32").overlaps(net):
            return f"{dst} dev {r.get('dev')}"
    return None


def link(name: str) -> dict | None:
    """A network interface of the host (`ip -j addr show`), None when there is none of that name."""
    r = subprocess.run(["ip", "-j", "addr", "show", name], capture_output=True, text=True, timeout=30)
    return (json.loads(r.stdout or "[]") or [None])[0] if r.returncode == 0 else None


def put_back_bridge(saved: dict | None) -> bool:
    """The machine's daemon's docker0 as it was (its addresses; up) when a dockerd start deleted it.
    True when it had to be made again."""
    if saved is None or link(saved["ifname"]) is not None:
        return False
    name = saved["ifname"]
    cmds = [["link", "add", name, "type", "bridge"]] + [
        ["addr", "add", f"{a['local']}/{a['prefixlen']}", "dev", name] for a in saved.get("addr_info", [])
        if a.get("family") == "inet"] + [["link", "set", name, "up"]]
    for argv in cmds:
        r = subprocess.run(["ip", *argv], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"ip {' '.join(argv)}: {r.stderr}"
    return True


class SecondDaemon:
    def __init__(self, tmp: Path):
        self.log = tmp / f"{DAEMON}.log"
        self.config = tmp / f"{DAEMON}.json"
        main = json.loads(MAIN_CONFIG.read_text()) if MAIN_CONFIG.is_file() else {}
        cfg = {k: main[k] for k in ("runtimes", "default-runtime") if k in main}   # the same runc (wrapper)
        cfg.update({"bridge": "none", "iptables": False, "ip6tables": False, "ip-masq": False,
                    "cgroup-parent": DAEMON, "default-address-pools": [{"base": POOL, "size": 24}]})
        self.config.write_text(json.dumps(cfg, indent=1))
        self.proc: subprocess.Popen | None = None
        self.docker0 = link("docker0")      # the machine's daemon's bridge, as it is before any start

    def start(self) -> float:
        t0 = time.monotonic()
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                ["dockerd", "--config-file", str(self.config), "--host", HOST, "--data-root", DATA,
                 "--exec-root", EXEC, "--pidfile", PIDFILE], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

        def answers() -> Observation:
            assert self.proc.poll() is None, f"dockerd exited {self.proc.returncode}: see {self.log}"
            r = d2("info", "--format", "{{.ServerVersion}}", timeout=30)
            return Observation(r.returncode == 0, r.stderr.strip()[-200:] or r.stdout.strip())
        wait_until(answers, f"the second dockerd ({HOST}) answers", 120, interval=0.5)
        if put_back_bridge(self.docker0):
            ROWS.append("docker0 deleted by the second dockerd's start: made again with its address")
        return time.monotonic() - t0

    def stop(self) -> float:
        """SIGTERM, as `systemctl stop docker` does; waits until the daemon has exited."""
        t0 = time.monotonic()
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=180)
        return time.monotonic() - t0


def record_on_disk(container_id: str) -> dict:
    """The daemon's own record of the container, read while the daemon is down."""
    doc = json.loads((Path(DATA) / "containers" / container_id / "config.v2.json").read_text())
    st = doc["State"]
    return {"ExitCode": st.get("ExitCode"), "FinishedAt": st.get("FinishedAt"), "Running": st.get("Running"),
            "HasBeenManuallyStopped": doc.get("HasBeenManuallyStopped"), "RestartCount": doc.get("RestartCount")}


def inspect() -> dict:
    r = d2("inspect", "--type", "container", CONTAINER, timeout=30)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)[0]
    return {"Id": d["Id"], "StartedAt": d["State"]["StartedAt"], "FinishedAt": d["State"]["FinishedAt"],
            "Running": d["State"]["Running"], "RestartCount": d["RestartCount"],
            "RestartPolicy": d["HostConfig"]["RestartPolicy"],
            "IP": next(iter(d["NetworkSettings"]["Networks"].values()))["IPAddress"]}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory, request):
    if not (BIN / "kind").is_file() or not IMAGE_REF.is_file() or not shutil.which("dockerd"):
        pytest.fail("needs airgap/.build/bin/kind, airgap/.build/node-image.ref and dockerd: run `make node-image`")
    if Path(SOCK).exists() and d2("info", timeout=30).returncode == 0:
        pytest.fail(f"a dockerd already answers on {SOCK}: another run uses {DAEMON} (BREAKFIX_E2E_DOCKERD2 names another)")
    taken = pool_is_free(POOL)
    assert taken is None, f"address pool {POOL} overlaps the host's route {taken}: set BREAKFIX_E2E_DOCKERD2_POOL"
    dd = SecondDaemon(tmp_path_factory.mktemp("dockerd2"))
    dd.start()
    try:
        yield dd
    finally:
        if dd.proc and dd.proc.poll() is None:
            subprocess.run([str(BIN / "kind"), "delete", "cluster", "--name", NAME], capture_output=True,
                           env=env2(), timeout=300)
            d2("network", "rm", NAME, timeout=60)
        dd.stop()
        put_back_bridge(dd.docker0)
        # the machine's daemon still starts a container on its default bridge
        image = IMAGE_REF.read_text().strip()
        r = subprocess.run(["docker", "run", "--rm", "--entrypoint", "true", image], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, f"the machine's Docker cannot start a container after the test: {r.stderr}"
        print_rows(request, "", ROWS)


@pytest.fixture(scope="module")
def cluster(daemon):
    image = IMAGE_REF.read_text().strip()
    if d2("image", "inspect", image, timeout=60).returncode != 0:
        t0 = time.monotonic()
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        load = subprocess.run(["docker", "-H", HOST, "load"], stdin=save.stdout, capture_output=True, text=True,
                              timeout=900)
        save.stdout.close()
        assert save.wait(timeout=60) == 0 and load.returncode == 0, f"docker save | load: {load.stderr[-400:]}"
        ROWS.append(f"node image copied into the second daemon in {time.monotonic() - t0:.0f} s")
    d2("network", "rm", NAME, timeout=60)
    net = d2("network", "create", NAME, timeout=60)      # IPv4 only, from POOL
    assert net.returncode == 0, net.stderr
    kubeconfig = daemon.config.parent / "kubeconfig"
    t0 = time.monotonic()
    r = subprocess.run([str(BIN / "kind"), "create", "cluster", f"--name={NAME}", f"--image={image}",
                        f"--kubeconfig={kubeconfig}"], capture_output=True, text=True,
                       env=env2(KIND_EXPERIMENTAL_DOCKER_NETWORK=NAME), timeout=900)
    assert r.returncode == 0, f"kind create cluster {NAME} on {HOST}: {r.stderr[-800:]}"
    ROWS.append(f"kind cluster {NAME} on the second daemon in {time.monotonic() - t0:.0f} s")
    from breakfix.kube import Kube
    from breakfix.lab import Lab
    from breakfix.node import Node
    os.environ["DOCKER_HOST"] = HOST      # breakfix's own `docker exec` in this process
    try:
        Lab(Kube(kubeconfig), Node(f"docker://{CONTAINER}"), CONTAINER).wait_settled("new kind cluster Ready")
    finally:
        os.environ.pop("DOCKER_HOST", None)
    return kubeconfig


def breakfix2(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "breakfix.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env2(), timeout=timeout)


def test_docker_daemon_restart_mid_fault_then_restore_byte_for_byte(daemon, cluster):
    before = watched_sums()
    b = breakfix2("break", FAULT, "--cluster", NAME)
    assert b.returncode == 0, f"break exited {b.returncode}: {b.stdout[-600:]} {b.stderr[-600:]}"
    assert watched_sums() != before
    was = inspect()
    stop_s = daemon.stop()
    down = record_on_disk(was["Id"])            # what the daemon wrote as it stopped
    start_s = daemon.start()

    def node_back() -> Observation:
        now = inspect()
        return Observation(now["Running"] and now["StartedAt"] != was["StartedAt"], now)
    now = wait_until(node_back, f"{CONTAINER} running again after the daemon restart", 180, interval=1).seen
    assert now["IP"] == was["IP"], f"the node came back as {now['IP']}, not {was['IP']}"
    assert f"{FAULT}.breakfix.json" in node_sh(f"ls -A {BACKUP_DIR}")    # the journal survived
    ROWS.append(f"restart policy {was['RestartPolicy']}; daemon stop {stop_s:.1f} s: the node stopped at "
                f"{down['FinishedAt']} with exit code {down['ExitCode']} (stopped by hand: "
                f"{down['HasBeenManuallyStopped']}, restart count {down['RestartCount']}); daemon start {start_s:.1f} s: "
                f"the node started again at {now['StartedAt']} (restart count {now['RestartCount']}), address "
                f"{now['IP']} kept, journal kept")
    t0 = time.monotonic()
    r = breakfix2("restore", "--cluster", NAME)
    took = time.monotonic() - t0
    assert r.returncode == 0, f"restore exited {r.returncode}: {r.stdout[-600:]} {r.stderr[-600:]}"
    assert f"restored {FAULT} on docker://{CONTAINER}" in r.stdout and "control plane Ready again" in r.stdout
    assert watched_sums() == before, "a watched node file differs from before the break"
    assert node_sh(f"ls -A {BACKUP_DIR} 2>/dev/null; true").strip() == "", "journal or backup left"
    ROWS.append(f"breakfix restore --cluster {NAME}: exit 0 in {took:.1f} s, every watched file identical, "
                f"control plane Ready again")
