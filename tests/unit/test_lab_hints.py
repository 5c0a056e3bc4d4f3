"""`breakfix lab hint LAB --step N`: a step's hints one at a time, remembered per cluster and step on
this machine (nothing connects to a cluster), forgotten on request."""
from __future__ import annotations

from pathlib import Path

import pytest

from breakfix.catalog import load_catalog
from breakfix.cli import main
from breakfix.hints import HintState, cluster_key, forget_lab, given_hints, next_number
from breakfix.labs import LabFileError, load_labs, parse_lab

LAB = "control-plane-failure"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "kube-breakfix" / "hints"


def hint(capsys, *argv) -> tuple[int, str]:
    rc = main(["lab", "hint", LAB, *argv])
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_every_step_of_the_shipped_labs_has_hints():
    labs = load_labs(load_catalog())
    assert all(len(s.hints) >= 2 for lab in labs.values() for s in lab.steps)


def test_hints_one_at_a_time_then_all_of_them_again(cache, capsys):
    hints = load_labs(load_catalog())[LAB].step(1).hints
    rc, out = hint(capsys, "--step", "1", "--cluster", "demo")
    assert rc == 0 and out.startswith(f"hint 1 of 3 (lab {LAB} step 1): {hints[0]}")
    assert f"next hint (2 of 3): breakfix lab hint {LAB} --step 1 --cluster demo" in out
    assert hint(capsys, "--step", "1", "--cluster", "demo")[1].startswith("hint 2 of 3")
    assert (cache / "kind-demo" / f"{LAB}-1").read_text() == "1\n2\n"
    rc, out = hint(capsys, "--step", "1", "--cluster", "demo")
    assert rc == 0 and out.startswith("hint 3 of 3") and "next hint" not in out
    rc, out = hint(capsys, "--step", "1", "--cluster", "demo")
    assert rc == 0 and out.splitlines()[0] == f"lab {LAB} step 1: all 3 hints given:"
    assert [ln.split(": ", 1)[1] for ln in out.splitlines()[1:]] == list(hints)
    # another cluster, another step: their own count
    assert hint(capsys, "--step", "1", "--cluster", "other")[1].startswith("hint 1 of 3")
    assert hint(capsys, "--step", "2", "--cluster", "demo")[1].startswith("hint 1 of 3")


def test_number_k_counts_as_given_and_forget(cache, capsys):
    rc, out = hint(capsys, "--step", "2", "--number", "3")
    assert rc == 0 and out.startswith("hint 3 of 3") and "next hint" not in out
    state = HintState(LAB, 2, "default")
    assert state.given() == [3]
    assert hint(capsys, "--step", "2")[1].startswith("hint 1 of 3")
    rc, out = hint(capsys, "--step", "2", "--forget")
    assert rc == 0 and "hints forgotten" in out and state.given() == []


def test_a_hint_number_the_step_does_not_have_is_one_line_exit_2(cache, capsys):
    rc, out = hint(capsys, "--step", "1", "--number", "4")
    assert rc == 2 and out.strip() == f"breakfix: error: lab {LAB} step 1 has hints 1..3, not 4"
    assert not cache.exists()


def test_a_cache_that_cannot_be_written_still_gives_the_hint(tmp_path, monkeypatch, capsys):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    rc, out = hint(capsys, "--step", "1")
    assert rc == 0 and "hint 1 of 3" in out and "breakfix: warning: could not remember the hint" in out


def test_hint_state_on_the_host(tmp_path):
    s = HintState("lab-x", 1, "kind-a", root=tmp_path)
    s.path.parent.mkdir(parents=True)
    s.path.write_text("2\njunk\n2\n0\n1\n")
    assert s.given() == [2, 1]
    assert next_number(("a", "b", "c"), s.given()) == 3
    assert given_hints(("a", "b"), [2, 1, 7]) == [(1, "a"), (2, "b")]
    HintState("lab-x", 2, "kind-a", root=tmp_path).give(1)
    HintState("lab-xy", 1, "kind-a", root=tmp_path).give(1)
    assert [p.name for p in forget_lab("lab-x", "kind-a", root=tmp_path)] == ["lab-x-1", "lab-x-2"]
    assert HintState("lab-xy", 1, "kind-a", root=tmp_path).given() == [1]


class A:
    def __init__(self, cluster=None, node=None, kubeconfig=None):
        self.cluster, self.node, self.kubeconfig = cluster, node, kubeconfig


def test_cluster_key_names_the_cluster_as_given():
    assert cluster_key(A()) == "default"
    assert cluster_key(A(cluster="lab")) == "kind-lab"
    assert cluster_key(A(node="ssh://me@host:22")) == "ssh_me_host_22"
    assert cluster_key(A(node="local://", kubeconfig="/root/.kube/config")) == "local"


def test_an_empty_hint_is_refused(tmp_path):
    data = {"id": "demo-lab", "title": "t", "steps": [{"title": "s", "fault": "scheduler-command-typo",
                                                         "hints": ["ok", ""]}]}
    with pytest.raises(LabFileError) as e:
        parse_lab(data, Path(tmp_path / "demo-lab.yaml"), load_catalog())
    assert e.value.field == "steps[0].hints[1]"
