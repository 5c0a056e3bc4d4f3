"""Node transport on local:// (a real shell, no cluster): every call has a deadline, and error
text names what was done, never the data it carried."""
import base64
import time

import pytest

from breakfix import node as node_mod
from breakfix.errors import NodeUnreachable
from breakfix.node import Node, describe

KEY = b"-----BEGIN RSA PRIVATE KEY-----\n" + b"A" * 300 + b"\n-----END RSA PRIVATE KEY-----\n"


def test_a_transport_that_stops_answering_is_one_line_within_its_deadline(monkeypatch):
    n = Node("local://", default_timeout=5)
    monkeypatch.setattr(node_mod, "TRANSPORT_GRACE", 0.5)
    t0 = time.monotonic()
    with pytest.raises(NodeUnreachable) as exc:
        n.run("trap '' TERM; sleep 30", timeout=1)   # ignores the node-side timeout's TERM
    assert time.monotonic() - t0 < 5
    assert str(exc.value).startswith("node local://: stopped answering: no answer within 2s")
    assert "\n" not in str(exc.value)


def test_failed_write_never_puts_file_contents_in_the_error(tmp_path):
    n = Node("local://")
    with pytest.raises(NodeUnreachable) as exc:
        n.write_atomic(str(tmp_path / "missing-dir" / "kubeconfig"), KEY)
    text = str(exc.value)
    assert "writing" in text and "kubeconfig" in text
    assert base64.b64encode(KEY).decode()[:40] not in text and "AAAA" not in text


def test_write_atomic_roundtrip_and_the_dot_file_is_gone(tmp_path):
    n = Node("local://")
    p = tmp_path / "m.yaml"
    n.write_atomic(str(p), b"kind: Pod\n", mode="0644")
    assert p.read_bytes() == b"kind: Pod\n" and oct(p.stat().st_mode)[-3:] == "644"
    assert [f.name for f in tmp_path.iterdir()] == ["m.yaml"]


def test_paths_with_shell_characters_are_quoted(tmp_path):
    n = Node("local://")
    p = tmp_path / "a b;touch pwned"
    n.write_atomic(str(p), b"x")
    n.copy_file(str(p), str(tmp_path / "copy $(id)"))
    n.remove(str(p))
    assert sorted(f.name for f in tmp_path.iterdir()) == ["copy $(id)"]


def test_describe_elides_payloads():
    assert describe("printf %s " + "Q" * 500 + " | base64 -d") == "printf %s <500 chars> | base64 -d"
