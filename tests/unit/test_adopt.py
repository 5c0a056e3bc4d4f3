"""A kind cluster made by hand stays the user's in every run on it: the first run adopts it (writes
its kubeconfig and a marker), a later run finds both and adopts it again instead of taking the
kubeconfig for a cluster of its own (which it would delete at the end)."""
from __future__ import annotations

import subprocess

from fixtures.cluster import adopt_existing_cluster, adopted_marker


class Kind:
    def __init__(self, clusters):
        self.clusters, self.calls = clusters, []

    def __call__(self, argv, **kw):
        self.calls.append(argv[1:])
        if argv[1:3] == ["get", "clusters"]:
            return subprocess.CompletedProcess(argv, 0, "\n".join(self.clusters) + "\n", "")
        if argv[1:3] == ["get", "kubeconfig"]:
            return subprocess.CompletedProcess(argv, 0, "apiVersion: v1\n", "")
        raise AssertionError(argv)


def test_a_hand_made_cluster_is_adopted_again_on_the_next_run(tmp_path):
    kc = tmp_path / ".pytest-kind" / "newbie" / "kubeconfig"
    assert adopt_existing_cluster("newbie", "kind", kc, run=Kind(["newbie"])) is True
    assert adopted_marker(kc).is_file() and kc.read_text() == "apiVersion: v1\n"
    again = Kind(["newbie"])
    assert adopt_existing_cluster("newbie", "kind", kc, run=again) is True     # not taken for ours
    assert again.calls == [["get", "clusters"], ["get", "kubeconfig", "--name", "newbie"]]


def test_when_the_hand_made_cluster_is_gone_the_next_one_is_ours(tmp_path):
    kc = tmp_path / ".pytest-kind" / "newbie" / "kubeconfig"
    adopt_existing_cluster("newbie", "kind", kc, run=Kind(["newbie"]))
    assert adopt_existing_cluster("newbie", "kind", kc, run=Kind([])) is False
    assert not adopted_marker(kc).exists() and not kc.exists()


def test_a_kept_cluster_of_ours_is_not_adopted(tmp_path):
    kc = tmp_path / ".pytest-kind" / "lab" / "kubeconfig"
    kc.parent.mkdir(parents=True)
    kc.write_text("apiVersion: v1\n")
    kind = Kind(["lab"])
    assert adopt_existing_cluster("lab", "kind", kc, run=kind) is False and kind.calls == []
