"""Cluster shapes (clusters/*.yaml) and the fault fields that use them (shapes, node)."""
from pathlib import Path
from types import SimpleNamespace

import pytest

from breakfix.catalog import load_catalog, load_file
from breakfix.errors import BadInput, FaultFileError, InfrastructureError
from breakfix.shapes import DEFAULT_FAULT_SHAPES, check_selector, load_shape, resolve_node, shape_names

from .samples import DEMO_FAULT

BASE = DEMO_FAULT


def write(tmp_path: Path, extra: str) -> Path:
    p = tmp_path / "demo-fault.yaml"
    p.write_text(BASE + extra)
    return p


def test_shipped_shapes():
    assert {"single", "workers", "ha"} <= set(shape_names())
    assert (load_shape("single").control_planes, load_shape("single").workers) == (1, 0)
    assert (load_shape("workers").control_planes, load_shape("workers").workers) == (1, 2)
    assert (load_shape("ha").control_planes, load_shape("ha").workers) == (3, 0)


def test_unknown_shape_is_one_line_bad_input():
    with pytest.raises(BadInput) as e:
        load_shape("triple")
    assert "\n" not in str(e.value) and "known: " in str(e.value) and "ha" in str(e.value)


def test_shape_file_that_is_not_a_kind_cluster(tmp_path):
    (tmp_path / "odd.yaml").write_text("kind: Cluster\nnodes:\n  - role: etcd\n")
    with pytest.raises(BadInput, match="control-plane or worker"):
        load_shape("odd", tmp_path)
    (tmp_path / "odd.yaml").write_text("- a list\n")
    with pytest.raises(BadInput, match="not a kind Cluster"):
        load_shape("odd", tmp_path)


def test_fault_defaults_keep_todays_behaviour(tmp_path):
    f = load_file(write(tmp_path, ""))
    assert f.shapes == DEFAULT_FAULT_SHAPES and f.node == "control-plane"


def test_fault_shapes_and_node(tmp_path):
    f = load_file(write(tmp_path, "shapes: [ha]\nnode: leader:kube-scheduler\n"))
    assert f.shapes == ("ha",) and f.node == "leader:kube-scheduler"


@pytest.mark.parametrize("extra,field", [
    ("shapes: [triple]\n", "shapes"),
    ("shapes: []\n", "shapes"),
    ("shapes: ha\n", "shapes"),
    ("node: master\n", "node"),
    ("node: control-plane-0\n", "node"),
    ("node: 2\n", "node"),
])
def test_bad_shape_or_node_fields(tmp_path, extra, field):
    with pytest.raises(FaultFileError) as e:
        load_file(write(tmp_path, extra))
    assert e.value.field == field


@pytest.mark.parametrize("sel", ["control-plane", "control-plane-3", "worker", "worker-2", "leader:kube-scheduler"])
def test_selectors(sel):
    assert check_selector(sel) is None


def test_ha_faults_in_the_catalog_apply_to_ha_only():
    ha = [f for f in load_catalog().values() if "ha" in f.shapes]
    assert len(ha) >= 2
    assert all(f.shapes == ("ha",) for f in ha)


def _kube(nodes, holder=""):
    def node(name, cp):
        labels = {"node-role.kubernetes.io/control-plane": ""} if cp else {}
        return SimpleNamespace(metadata=SimpleNamespace(name=name, labels=labels))
    items = [node(n, cp) for n, cp in nodes]
    core = SimpleNamespace(list_node=lambda **kw: SimpleNamespace(items=items))
    return SimpleNamespace(core=core)


def test_resolve_by_role_and_index():
    k = _kube([("c-worker2", False), ("c-control-plane2", True), ("c-control-plane", True), ("c-worker", False)])
    assert resolve_node(k, "control-plane") == "c-control-plane"
    assert resolve_node(k, "control-plane-2") == "c-control-plane2"
    assert resolve_node(k, "worker-2") == "c-worker2"
    with pytest.raises(InfrastructureError, match="2 control-plane node"):
        resolve_node(k, "control-plane-3")


def test_resolve_leader(monkeypatch):
    import breakfix.shapes as shapes
    monkeypatch.setattr(shapes, "lease_holder", lambda kube, lease: ("c-control-plane3", None))
    assert resolve_node(_kube([]), "leader:kube-scheduler") == "c-control-plane3"
    monkeypatch.setattr(shapes, "lease_holder", lambda kube, lease: (None, None))
    with pytest.raises(InfrastructureError, match="no holder"):
        resolve_node(_kube([]), "leader:kube-scheduler")


def test_fault_on_several_nodes(tmp_path):
    f = load_file(write(tmp_path, "shapes: [ha]\nnode: [control-plane-2, control-plane-3]\n"))
    assert f.nodes == ("control-plane-2", "control-plane-3") and f.node == "control-plane-2"


@pytest.mark.parametrize("extra", ["node: []\n", "node: [control-plane-2, control-plane-2]\n",
                                   "node: [control-plane-2, primary]\n"])
def test_bad_node_lists(tmp_path, extra):
    with pytest.raises(FaultFileError) as e:
        load_file(write(tmp_path, extra))
    assert e.value.field == "node"


def test_api_available_and_lease_moved_have_monitors_or_checks():
    from breakfix.symptoms import CHECKS, MONITORS
    assert {"api_available", "lease_moved"} <= set(CHECKS)
    assert set(MONITORS) <= set(CHECKS)


def test_k8s_versions_pinned():
    from breakfix.shapes import check_k8s_version, k8s_versions
    vs = k8s_versions()
    assert vs[0] == "v1.34.4" and any(v.startswith("v1.33.") for v in vs)
    check_k8s_version(vs[1])
    with pytest.raises(BadInput) as e:
        check_k8s_version("v1.20.0")
    assert "\n" not in str(e.value) and "K8S_VERSIONS" in str(e.value)


def test_version_ranges(tmp_path):
    from breakfix.shapes import version_in_range
    f = load_file(write(tmp_path, "k8s_versions: {min: v1.34}\n"))
    assert f.k8s_versions == {"min": "v1.34"}
    assert version_in_range("v1.34.4", f.k8s_versions) and not version_in_range("v1.33.13", f.k8s_versions)
    assert version_in_range("kindest/node:v1.35.0", f.k8s_versions)
    assert not version_in_range("v1.35.1", {"max": "v1.34"})
    assert version_in_range(None, {"max": "v1.34"}) and version_in_range("my/image:latest", {"max": "v1.34"})
    for bad in ("k8s_versions: v1.33\n", "k8s_versions: {min: 1.33}\n", "k8s_versions: {min: v1.34, max: v1.33}\n",
                "k8s_versions: {from: v1.33}\n"):
        with pytest.raises(FaultFileError) as e:
            load_file(write(tmp_path, bad))
        assert e.value.field == "k8s_versions"


def test_an_api_monitor_stops_on_request(monkeypatch):
    """`breakfix break` leaves the fault unmeasured and Lab.restore puts it back: either stops the
    monitor's probe thread, so no probe is still in flight when the process exits."""
    import threading
    from breakfix import symptoms
    from breakfix.lab_inject import InjectionContext
    from breakfix.symptoms import api_available
    from breakfix.waits import Observation
    probes, probed = [], threading.Event()

    def probe(kc, write, seq):
        probes.append(seq)
        probed.set()
        return Observation(True, "200")
    monkeypatch.setattr(api_available, "_fresh_probe", probe)
    mon = api_available._Monitor("kubeconfig", write=False, hold=30, lifetime=600)
    inj = SimpleNamespace(context=InjectionContext(monitors={"api_available": mon}))
    assert probed.wait(10)                 # stopped while probing, not before its first probe
    symptoms.stop_monitors(inj)
    assert not mon.thread.is_alive() and probes
    symptoms.stop_monitors(inj)            # idempotent
