"""What a fault breaks on one node is observed on that node: a DaemonSet's rolling update stops after
its first broken pod, so kube-proxy can be down on a worker while the control plane's still runs
(a real failure seen on the `workers` shape); a probe pod for a node-local fault is placed on
the target node through the scheduler (node affinity, never nodeName)."""
from types import SimpleNamespace as NS

import pytest

from breakfix.symptoms import proxy_down_node


def pod(name, node, running):
    state = NS(running=NS() if running else None)
    return NS(metadata=NS(name=name), spec=NS(node_name=node), status=NS(container_statuses=[NS(state=state)]))


class Kube:
    def __init__(self, pods, nodes=("cp", "w1", "w2")):
        self._pods, self._nodes = pods, list(nodes)

    def node_names(self):
        return self._nodes

    def pods(self, namespace, selector):
        assert selector == "k8s-app=kube-proxy"
        return self._pods


class Lab:
    def __init__(self, pods, reachable=("cp", "w1", "w2"), nodes=("cp", "w1", "w2")):
        self.kube, self.node_name, self.reachable = Kube(pods, nodes), "cp", reachable

    def node_at(self, name):
        return object() if name in self.reachable else None


def status(monkeypatch):
    monkeypatch.setattr("breakfix.symptoms.service_unreachable.workload_status", lambda kube, ref: {"selector": {"k8s-app": "kube-proxy"}})


def test_the_node_whose_proxy_is_down_is_chosen_even_when_it_is_not_the_target(monkeypatch):
    status(monkeypatch)
    lab = Lab([pod("kp-a", "cp", True), pod("kp-b", "w1", False), pod("kp-c", "w2", True)])
    obs, node = proxy_down_node(lab, "daemonset/kube-system/kube-proxy")
    assert obs.ok and node == "w1"
    assert "kp-b not running" in obs.seen


def test_the_target_node_first(monkeypatch):
    status(monkeypatch)
    lab = Lab([pod("kp-a", "w2", False), pod("kp-b", "cp", False)])
    assert proxy_down_node(lab, "daemonset/kube-system/kube-proxy")[1] == "cp"


def test_a_node_with_a_running_pod_beside_a_broken_one_is_not_down(monkeypatch):
    status(monkeypatch)     # the old pod still runs while the new one crash-loops: its rules are live
    lab = Lab([pod("kp-old", "cp", True), pod("kp-new", "cp", False)], nodes=("cp",))
    obs, node = proxy_down_node(lab, "daemonset/kube-system/kube-proxy")
    assert not obs.ok and node is None


def test_a_node_without_any_pod_runs_no_proxy(monkeypatch):
    status(monkeypatch)     # a nodeSelector that matches no node: every pod deleted (seen in `make bench`)
    obs, node = proxy_down_node(Lab([]), "daemonset/kube-system/kube-proxy")
    assert obs.ok and node == "cp" and "cp: no pod" in obs.seen


def test_no_nodes_or_an_unreachable_node_proves_nothing(monkeypatch):
    status(monkeypatch)
    assert proxy_down_node(Lab([], nodes=()), "daemonset/kube-system/kube-proxy")[0].ok is False
    obs, node = proxy_down_node(Lab([pod("kp", "w1", False), pod("kp2", "cp", True)], reachable=("cp",),
                                    nodes=("cp", "w1")), "daemonset/kube-system/kube-proxy")
    assert not obs.ok and node is None and "not reachable" in obs.seen


def test_a_probe_pod_for_a_node_goes_through_the_scheduler(monkeypatch):
    from breakfix import kube as kube_mod
    made = []
    k = kube_mod.Kube.__new__(kube_mod.Kube)
    k.core = NS(create_namespaced_pod=lambda ns, body, **kw: made.append(body))
    k.create_probe_pod("img", "default", node="w1")
    spec = made[0].spec
    assert spec.node_name is None
    term = spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms[0]
    assert (term.match_fields[0].key, term.match_fields[0].values) == ("metadata.name", ["w1"])
    assert spec.tolerations[0].key == "node-role.kubernetes.io/control-plane"
    k.create_probe_pod("img", "default")
    assert made[1].spec.affinity is None and made[1].spec.tolerations is None


def test_a_sibling_node_is_reached_over_the_same_transport():
    from breakfix.node import Node
    n = Node.__new__(Node)
    n.spec, n.sudo, n.default_timeout = "ssh://root@host", False, 30
    assert n.sibling("other") is None
    n.spec = "docker://kb-control-plane"
    assert n.sibling("kb-control-plane") is n


@pytest.mark.parametrize("status,want", [(None, False), (404, True), (500, "raises")])
def test_a_deployment_is_gone_only_on_the_apis_404(status, want):
    """A deployment deleted in the foreground stays until its pods and ReplicaSets are collected;
    creating it again meanwhile conflicts (seen under four clusters: the lab's redeployed `app`
    then vanished). Only a 404 is "gone"; a failed read is raised, not taken for gone."""
    from kubernetes.client.exceptions import ApiException

    from breakfix import kube as kube_mod

    def read(name, ns, **kw):
        if status is None:
            return NS(metadata=NS(name=name, deletion_timestamp="now"))
        raise ApiException(status=status, reason="x")
    k = kube_mod.Kube.__new__(kube_mod.Kube)
    k.apps = NS(read_namespaced_deployment=read)
    if want == "raises":
        with pytest.raises(ApiException):
            k.deployment_gone("app")
    else:
        assert k.deployment_gone("app") is want
