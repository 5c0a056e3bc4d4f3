"""Labs as data (breakfix/labs.py): the shipped labs load, the reference lab is the lab the old
Python list was, and a bad lab file is refused with one line naming path, field and reason."""
import textwrap
from pathlib import Path

import pytest

from breakfix.catalog import load_catalog
from breakfix.errors import FaultFileError, UnknownFault
from breakfix.labs import LabFileError, load_lab_file, load_labs, select_labs

from .samples import DEMO_FAULT
from .samples import write as write_file

CATALOG = load_catalog()

LAB = """id: demo-lab
title: Demo
steps:
  - title: the scheduler is down
    fault: scheduler-command-typo
    symptoms:
      - {kind: pod_not_scheduled, workload: app}
    fixed: {app_replicas: 1}
  - title: scaling to 2 does nothing
    fault: controller-manager-kubeconfig-path
    symptoms:
      - {kind: scale_stuck, replicas: 2}
    fixed: {app_replicas: 2}
"""
INLINE = """id: demo-lab
title: Demo
steps:
  - title: an inline fault
    inline:
""" + textwrap.indent(DEMO_FAULT.strip().replace("id: demo-fault", "id: demo-inline"), " " * 6) + "\n"


def write(tmp_path: Path, text: str, name: str = "demo-lab.yaml") -> Path:
    return write_file(tmp_path, text, name)


def test_shipped_labs_load_and_there_are_at_least_two():
    labs = load_labs(CATALOG)
    assert "control-plane-failure" in labs and len(labs) >= 2
    for lab in labs.values():
        assert lab.steps and all(s.fault.id in CATALOG for s in lab.steps)


def test_reference_lab_is_the_three_faults_in_order_with_the_learners_symptoms():
    lab = load_labs(CATALOG)["control-plane-failure"]
    assert [s.fault.id for s in lab.steps] == ["scheduler-command-typo", "controller-manager-kubeconfig-path",
                                               "controller-manager-pki-hostpath"]
    assert [(s.app_before, s.app_replicas) for s in lab.steps] == [(1, 1), (1, 2), (2, 3)]
    one, two, three = lab.steps
    app_sym = [x for x in one.fault.symptoms if x["kind"] == "pod_not_scheduled"]
    assert app_sym == [dict(one.learner_symptoms[0])] and app_sym[0]["workload"] == "app"
    assert [x for x in two.fault.symptoms if x["kind"] == "scale_stuck"][0]["replicas"] == 2
    assert [x for x in three.fault.symptoms if x["kind"] == "scale_stuck"][0]["replicas"] == 3
    # the catalog's own symptoms of other kinds stay (the node-side proof)
    assert {"container_not_running", "previous_log_contains"} <= {x["kind"] for x in three.fault.symptoms}
    # and the catalog is not changed by the lab
    assert "workload" not in [x for x in CATALOG["scheduler-command-typo"].symptoms
                              if x["kind"] == "pod_not_scheduled"][0]


def test_inline_fault(tmp_path):
    lab = load_lab_file(write(tmp_path, INLINE), CATALOG)
    assert lab.steps[0].fault.id == "demo-inline" and lab.steps[0].app_replicas == 1


BAD = {
    "unknown-top": (LAB + "colour: red\n", "colour", "unknown field"),
    "no-steps": ("id: demo-lab\ntitle: Demo\nsteps: []\n", "steps", "must list at least one"),
    "no-title": (LAB.replace("title: Demo\n", ""), "title", "is required"),
    "id-vs-file": (LAB.replace("id: demo-lab", "id: other-lab"), "id", "must match the file name"),
    "bad-id": (LAB.replace("id: demo-lab", "id: Demo_Lab"), "id", "must be lowercase letters, digits and dashes"),
    "unknown-fault": (LAB.replace("fault: scheduler-command-typo", "fault: no-such-fault"), "steps[0].fault",
                      "unknown fault 'no-such-fault'"),
    "fault-and-inline": (LAB.replace("    fault: scheduler-command-typo\n",
                                     "    fault: scheduler-command-typo\n    inline: {id: x}\n"), "steps[0]",
                         "exactly one of `fault`"),
    "neither": (LAB.replace("    fault: scheduler-command-typo\n", ""), "steps[0]", "exactly one of `fault`"),
    "replicas-string": (LAB.replace("app_replicas: 2", "app_replicas: two"), "steps[1].fixed.app_replicas",
                        "must be an integer, got str"),
    "replicas-0": (LAB.replace("app_replicas: 2", "app_replicas: 0"), "steps[1].fixed.app_replicas",
                   "must be an integer >= 1, got 0"),
    "unknown-fixed": (LAB.replace("fixed: {app_replicas: 1}", "fixed: {pods: 1}"), "steps[0].fixed.pods",
                      "unknown field"),
    "symptom-kind": (LAB.replace("kind: pod_not_scheduled", "kind: nope"), "steps[0].symptoms[0].kind",
                     "unknown symptom kind 'nope'"),
    "symptom-param": (LAB.replace("workload: app", "workload: app, colour: red"), "steps[0].symptoms[0].colour",
                      "unknown field"),
    "scale-vs-fixed": (LAB.replace("scale_stuck, replicas: 2}", "scale_stuck, replicas: 5}"), "steps[1].symptoms[0].replicas",
                       "fixed.app_replicas is 2"),
    "inline-bad": (INLINE.replace("path: kube-scheduler.yaml", "path: etcd.yaml"), "steps[0].inline.target.path",
                   "must be kube-scheduler.yaml"),
    "two-nodes": (LAB.replace("steps:\n", "cluster: {nodes: 2}\nsteps:\n", 1), "cluster.nodes", "the single shape has 1 node(s), not 2"),
    "unknown-shape": (LAB.replace("steps:\n", "cluster: {shape: huge}\nsteps:\n", 1), "cluster.shape",
                      "unknown shape 'huge'"),
    "fault-off-shape": (LAB.replace("steps:\n", "cluster: {shape: ha}\nsteps:\n", 1), "steps[0].fault",
                        "not to the lab's ha"),
    "app-node": (LAB.replace("steps:\n", "cluster: {app: {node: worker-0}}\nsteps:\n", 1), "cluster.app.node",
                 "must be control-plane"),
    "not-yaml": ("id: [\n", "line", "not valid YAML"),
    "a-list": ("- a\n- b\n", "(document)", "must be a mapping of lab fields"),
    "empty": ("", "(document)", "got an empty file"),
}


@pytest.mark.parametrize("name", BAD)
def test_bad_lab_file_is_one_line_with_path_field_reason(tmp_path, name):
    text, field, reason = BAD[name]
    p = write(tmp_path, text)
    with pytest.raises(LabFileError) as e:
        load_lab_file(p, CATALOG)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"{p}: field '{field}")
    assert reason in msg, msg
    assert isinstance(e.value, FaultFileError)


def test_duplicate_ids_and_unknown_selection(tmp_path):
    write(tmp_path, LAB)
    (tmp_path / "sub").mkdir()
    assert list(load_labs(CATALOG, tmp_path)) == ["demo-lab"]
    with pytest.raises(UnknownFault, match="unknown lab 'nope'; known: demo-lab"):
        select_labs(load_labs(CATALOG, tmp_path), ["nope"])
    with pytest.raises(LabFileError, match="lab directory not found"):
        load_labs(CATALOG, tmp_path / "missing")
    with pytest.raises(UnknownFault, match="has steps 1..2, not 3"):
        load_labs(CATALOG, tmp_path)["demo-lab"].step(3)


def test_the_catalogs_reference_lab_numbers_agree_with_the_lab_file():
    """faults' `reference_lab: N` (informative, shown by `breakfix list`) is the step of the lab file."""
    lab = load_labs(CATALOG)["control-plane-failure"]
    assert {s.fault.id: s.number for s in lab.steps} == {
        f.id: f.reference_lab for f in CATALOG.values() if f.reference_lab}


def test_a_lab_is_replayed_on_its_shape_or_one_all_its_faults_fit():
    """labs.Lab.fits: the shipped single-node labs run on a workers cluster too (their faults apply
    there), the worker lab only on its own shape."""
    from breakfix.catalog import load_catalog
    labs = load_labs(load_catalog())
    assert {i: [s for s in ("single", "workers", "ha") if lab.fits(s)] for i, lab in labs.items()} == {
        "api-server-and-etcd": ["single", "workers"], "control-plane-failure": ["single", "workers"],
        "worker-node-failure": ["workers"]}
    wk = labs["worker-node-failure"]
    assert (wk.shape, wk.app_node) == ("workers", "worker")
    assert [s.fault.nodes for s in wk.steps] == [("worker",), ("worker",)]
    assert all(s.hints and s.learner for s in wk.steps)
