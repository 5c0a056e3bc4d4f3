"""End to end: the `breakfix` command line reaching a kind node over SSH, as a grader reaches a
kubeadm lab's control plane (`--node ssh://user@host`).

A module fixture creates the kind cluster `breakfix-ssh` from the offline node image (which runs
sshd: key-only, host keys made at the node's first boot) with the node's port 22 published on
127.0.0.1 only, at a free port. It makes an ed25519 key pair for this run, installs the public key
for root and for a new user `grader` (sudo without a password), all through `docker exec`, and
deletes the cluster at the end.

Host keys are checked, not skipped: the node's own public host key, read through `docker exec`,
goes into a known_hosts file of this run (and must equal what ssh-keyscan sees on the published
port). The ssh client gets everything through testinfra's host-spec query parameters:
  ssh://root@127.0.0.1:PORT?ssh_identity_file=KEY&ssh_config=CONFIG
where CONFIG (UserKnownHostsFile, StrictHostKeyChecking yes, BatchMode yes) replaces ~/.ssh/config.

  check as root -> exit 0 (and sshd logged the publickey login);
  check as grader with --sudo -> exit 0;
  break scheduler-command-typo -> check exits 1 naming kube-scheduler -> restore -> check exits 0;
  sshd offers publickey only, the image holds no host key, a key the node does not know -> exit 2.

No sleeps: every wait is breakfix.waits.wait_until with a deadline.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from breakfix.waits import Observation, wait_until

from .support import BIN, IMAGE_REF, breakfix, env, node_exec, create_cluster

pytestmark = pytest.mark.e2e

NAME = "breakfix-ssh"
CONTAINER = f"{NAME}-control-plane"
FAULT = "scheduler-command-typo"


def docker(*args: str, timeout: float = 120) -> str:
    return node_exec(CONTAINER, *args, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SshNode:
    kubeconfig: Path
    port: int
    key: Path
    config: Path

    def spec(self, user: str, key: Path | None = None) -> str:
        return (f"ssh://{user}@127.0.0.1:{self.port}"
                f"?ssh_identity_file={key or self.key}&ssh_config={self.config}")

    def target(self, user: str = "root") -> list[str]:
        return ["--kubeconfig", str(self.kubeconfig), "--node", self.spec(user)]


KIND_CONFIG = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  extraPortMappings:
  - containerPort: 22
    hostPort: {port}
    listenAddress: "127.0.0.1"
    protocol: TCP
"""

# Replaces ~/.ssh/config for this run: only this node's host key is trusted, only this key is offered.
SSH_CONFIG = """Host *
  UserKnownHostsFile {known_hosts}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  IdentitiesOnly yes
  BatchMode yes
  LogLevel ERROR
"""


def install_keys(public_key: str) -> None:
    """root and a new sudo user `grader` accept PUBLIC_KEY (through docker exec, not ssh)."""
    docker("sh", "-euc", """
        key=$1
        install -d -m 700 /root/.ssh
        printf '%s\\n' "$key" > /root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys
        id grader >/dev/null 2>&1 || useradd --create-home --shell /bin/bash grader
        install -d -m 700 -o grader -g grader /home/grader/.ssh
        printf '%s\\n' "$key" > /home/grader/.ssh/authorized_keys
        chown grader:grader /home/grader/.ssh/authorized_keys; chmod 600 /home/grader/.ssh/authorized_keys
        printf 'grader ALL=(ALL) NOPASSWD: ALL\\n' > /etc/sudoers.d/grader; chmod 440 /etc/sudoers.d/grader
        visudo -cq -f /etc/sudoers.d/grader
    """, "install-keys", public_key)


def keyscan(port: int) -> Observation:
    r = subprocess.run(["ssh-keyscan", "-T", "5", "-p", str(port), "-t", "ed25519", "127.0.0.1"],
                       capture_output=True, text=True, timeout=30)
    lines = [ln for ln in r.stdout.splitlines() if ln and not ln.startswith("#")]
    return Observation(bool(lines), lines[0] if lines else f"rc={r.returncode} {r.stderr.strip()[-200:]}")


@pytest.fixture(scope="module")
def ssh_node(tmp_path_factory):
    kind = BIN / "kind"
    tools = ("docker", "ssh", "ssh-keygen", "ssh-keyscan")
    if not kind.is_file() or not IMAGE_REF.is_file() or not all(shutil.which(t) for t in tools):
        pytest.skip("needs airgap/.build/bin/kind, airgap/.build/node-image.ref (make node-image), "
                    "docker and the OpenSSH client")
    tmp = tmp_path_factory.mktemp("ssh")
    kubeconfig, port = tmp / "kubeconfig", free_port()
    (tmp / "kind.yaml").write_text(KIND_CONFIG.format(port=port))
    subprocess.run([str(kind), "delete", "cluster", "--name", NAME], capture_output=True, env=env(), timeout=300)
    try:
        create_cluster(NAME, kubeconfig, tmp / "kind.yaml")
        from breakfix.kube import Kube
        from breakfix.lab import Lab
        from breakfix.node import Node
        Lab(Kube(kubeconfig), Node(f"docker://{CONTAINER}"), CONTAINER).wait_settled("new kind cluster Ready")

        key = tmp / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "breakfix-ssh-e2e", "-f", str(key)],
                       check=True, timeout=30)
        install_keys((tmp / "id_ed25519.pub").read_text().strip())

        # Trust the host key the node made at its first boot, read through docker (not over the network) ...
        scanned = wait_until(lambda: keyscan(port), f"sshd answers on 127.0.0.1:{port}", 120, interval=2).text()
        host_key = docker("cat", "/etc/ssh/ssh_host_ed25519_key.pub").split()[:2]
        # ... and the published port must lead to that very sshd.
        assert scanned.split()[1:3] == host_key, f"ssh-keyscan saw {scanned!r}, the node has {host_key}"
        known_hosts = tmp / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {' '.join(host_key)}\n")
        config = tmp / "ssh_config"
        config.write_text(SSH_CONFIG.format(known_hosts=known_hosts))
        yield SshNode(kubeconfig, port, key, config)
    finally:
        subprocess.run([str(kind), "delete", "cluster", "--name", NAME], capture_output=True, env=env(), timeout=300)


def sshd_log() -> str:
    return docker("journalctl", "-u", "ssh", "--no-pager", "-o", "cat")


def test_check_as_root_over_ssh(ssh_node):
    r = breakfix("check", *ssh_node.target("root"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Accepted publickey for root" in sshd_log()   # it really went through sshd


def test_check_as_grader_with_sudo(ssh_node):
    r = breakfix("check", *ssh_node.target("grader"), "--sudo")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Accepted publickey for grader" in sshd_log()


def test_break_check_restore_over_ssh(ssh_node):
    r = breakfix("break", FAULT, *ssh_node.target())
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        r = breakfix("check", *ssh_node.target())
        assert r.returncode == 1, r.stdout + r.stderr
        assert "kube-scheduler" in r.stdout, r.stdout
    finally:
        r = breakfix("restore", *ssh_node.target())
    assert r.returncode == 0, r.stdout + r.stderr
    r = breakfix("check", *ssh_node.target())
    assert r.returncode == 0, r.stdout + r.stderr


def test_keys_only_and_no_host_key_in_the_image(ssh_node, tmp_path):
    # sshd offers public-key authentication and nothing else.
    r = subprocess.run(["ssh", "-F", str(ssh_node.config), "-p", str(ssh_node.port), "-o", "PubkeyAuthentication=no",
                        "-o", "PreferredAuthentications=password,keyboard-interactive", "root@127.0.0.1", "true"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 255 and "Permission denied (publickey)." in r.stderr, r.stderr
    # The image ships no host key: the node made its own at first boot.
    image = IMAGE_REF.read_text().strip()
    r = subprocess.run(["docker", "run", "--rm", "--entrypoint", "ls", image, "/etc/ssh"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "sshd_config" in r.stdout and "ssh_host_" not in r.stdout, r.stdout + r.stderr
    assert "ssh_host_ed25519_key" in docker("ls", "/etc/ssh")
    # A key the node does not know: one line, exit 2, nothing attempted on the node.
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True, timeout=30)
    spec = ssh_node.spec("root", key=stranger)
    r = breakfix("check", "--kubeconfig", str(ssh_node.kubeconfig), "--node", spec)
    assert r.returncode == 2 and r.stdout == "", r.stdout + r.stderr
    assert r.stderr.splitlines() == [f"breakfix: error: node {spec}: not reachable: ssh exited 255: "
                                     f"root@127.0.0.1: Permission denied (publickey)."], r.stderr
