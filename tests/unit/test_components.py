"""How a component's health is seen is typed data (targets_spec.COMPONENTS and WORKLOADS), not a
string the engine parses: every workload component names its Deployment or DaemonSet, and the settle
part reads that workload's status."""
from types import SimpleNamespace

from breakfix.lab_settle import Settle
from breakfix.targets_spec import COMPONENTS, WORKLOADS, Workload


def test_every_component_has_a_known_health_and_each_workload_its_object():
    assert set(COMPONENTS.values()) <= {"static_pod", "node", "api", "workload"}
    assert {c for c, h in COMPONENTS.items() if h == "workload"} == set(WORKLOADS)
    assert all(w.kind in ("deployment", "daemonset") for w in WORKLOADS.values())
    assert WORKLOADS["coredns"] == Workload("deployment", "kube-system", "coredns")


def test_a_workload_components_readiness_is_its_workloads_status(monkeypatch):
    asked = []

    def status(kube, ref):
        asked.append(ref)
        return {"healthy": False, "line": f"{ref}: want=2 ready=1"}
    monkeypatch.setattr("breakfix.symptoms.workload_status", status)
    part = Settle()
    part.kube = SimpleNamespace()
    obs = part.component_ready("kube-proxy")
    assert asked == ["daemonset/kube-system/kube-proxy"]
    assert not obs.ok and obs.text() == "daemonset/kube-system/kube-proxy: want=2 ready=1"
