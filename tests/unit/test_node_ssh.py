"""Node over ssh:// without a cluster: a stand-in `ssh` first on PATH logs its arguments and runs
the remote command locally (or fails like ssh does). Proves the host spec's query parameters reach
ssh, ssh's own failures are one line saying why, and the transport deadline still holds.
tests/e2e/test_grader_ssh.py does the same against a real sshd in a kind node."""
from __future__ import annotations

import time

import pytest

from breakfix import node as node_mod
from breakfix.errors import NodeUnreachable
from breakfix.node import Node

FAKE_SSH = """#!/bin/bash
printf '%s\\n' "$*" >> {log}
case ${{BREAKFIX_FAKE_SSH:-run}} in
  run) for last; do :; done; exec sh -c "${{last#sudo }}" ;;   # the remote command (no sudo here)
  hostkey) echo 'Host key verification failed.' >&2; exit 255 ;;
  hang) exec sleep 60 ;;
esac
"""


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch):
    bindir, log = tmp_path / "bin", tmp_path / "ssh.log"
    bindir.mkdir()
    (bindir / "ssh").write_text(FAKE_SSH.format(log=log))
    (bindir / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    key, config = tmp_path / "id_ed25519", tmp_path / "ssh_config"
    key.write_text("not a real key\n")
    config.write_text("StrictHostKeyChecking yes\n")
    return tmp_path, log, f"ssh://grader@127.0.0.1:2222?ssh_identity_file={key}&ssh_config={config}"


def test_key_port_and_config_from_the_host_spec_reach_ssh(fake_ssh):
    tmp, log, spec = fake_ssh
    n = Node(spec, sudo=True)
    r = n.run("echo over-ssh")
    assert r.ok and r.stdout.strip() == "over-ssh"
    argv = log.read_text()
    for part in (f"-F {tmp}/ssh_config", "-o User=grader", "-o Port=2222", f"-i {tmp}/id_ed25519",
                 "-o ConnectTimeout=", "127.0.0.1", "sudo /bin/sh -c", "timeout -k 5 30 sh -c"):
        assert part in argv, argv


def test_ssh_failure_is_one_line_saying_why(fake_ssh, monkeypatch):
    _, _, spec = fake_ssh
    monkeypatch.setenv("BREAKFIX_FAKE_SSH", "hostkey")
    with pytest.raises(NodeUnreachable) as exc:
        Node(spec).ping()
    assert str(exc.value) == f"node {spec}: not reachable: ssh exited 255: Host key verification failed."


@pytest.mark.parametrize("param", ["ssh_identity_file", "ssh_config"])
def test_a_missing_key_or_config_file_is_refused_before_ssh_runs(fake_ssh, param):
    tmp, log, _ = fake_ssh
    spec = f"ssh://root@127.0.0.1:2222?{param}={tmp}/missing"
    with pytest.raises(NodeUnreachable) as exc:
        Node(spec)
    assert str(exc.value) == f"node {spec}: {param} {tmp}/missing: no such file"
    assert not log.exists()


def test_an_ssh_that_stops_answering_is_cut_at_its_deadline(fake_ssh, monkeypatch):
    _, _, spec = fake_ssh
    monkeypatch.setenv("BREAKFIX_FAKE_SSH", "hang")
    monkeypatch.setattr(node_mod, "TRANSPORT_GRACE", 0.5)
    n = Node(spec, default_timeout=5)
    t0 = time.monotonic()
    with pytest.raises(NodeUnreachable) as exc:
        n.run("true", timeout=1)
    assert time.monotonic() - t0 < 5
    assert str(exc.value).startswith(f"node {spec}: stopped answering: no answer within 2s")
