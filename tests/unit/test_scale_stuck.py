"""scale_stuck decides from the pods created since the scale, not from a pod count: a pod of an
earlier scale-down that is still terminating is no reaction (a real false failure, seen on a cluster)."""
from types import SimpleNamespace as NS

import pytest

from breakfix.errors import SymptomNotObserved
from breakfix.lab_inject import InjectionContext as Ctx
from breakfix.symptoms import check


def pod(uid):
    return NS(metadata=NS(uid=uid, name=f"app-{uid}"))


class Kube:
    def __init__(self, listings):
        self.listings, self.replicas = list(listings), 2

    def pods(self, namespace, selector):
        return self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]

    def scale(self, name, replicas, namespace):
        self.replicas = replicas

    def deployment(self, name, namespace):
        return NS(spec=NS(replicas=self.replicas), status=NS(replicas=2, ready_replicas=2))


def lab(kube):
    return NS(kube=kube, app_name="app", namespace="default", poll=0.0, app_ready_replicas=lambda: (2, 2, ""),
              hold_for=lambda spec: 0.0)


def test_a_terminating_pod_of_an_earlier_scale_down_is_not_a_reaction():
    old = [pod("a"), pod("b"), pod("terminating")]       # three pods listed, two of them Ready
    inj = NS(context=Ctx())
    ev = check(lab(Kube([old, old])), inj, {"kind": "scale_stuck", "add": 1})
    assert "created since the scale: none" in ev and inj.context.scale_target == 3


def test_a_pod_created_after_the_scale_breaks_the_hold():
    old = [pod("a"), pod("b")]
    with pytest.raises(SymptomNotObserved):
        check(lab(Kube([old, old + [pod("new")]])), NS(context=Ctx()), {"kind": "scale_stuck", "add": 1})


def test_a_component_stays_ready_only_as_the_edited_pod_not_the_old_pods_mirror(monkeypatch):
    """The old pod's mirror keeps its last Ready status until the kubelet replaces it: that proves
    nothing of the edited pod, so the symptom waits for the mirror of the new config hash; a
    leader-elected component must also lead (else "scaling creates no pod" proves nothing)."""
    from breakfix import probes
    from breakfix.errors import WaitTimeout
    from breakfix.symptoms.component_ready import KIND
    from breakfix.waits import Observation

    leads = {"now": True}
    monkeypatch.setattr(probes, "lease_renewed_since", lambda kube, lease, since: leads["now"])

    def view(h):
        return NS(config_hash=h, running=True, started_at=1.0, line=lambda: f"mirror {h}")
    views = iter([view("old")] * 3 + [view("new")] * 1000)
    lab = NS(t=lambda name: 5.0, poll=0.01, hold_for=lambda spec, half=False: 0.05, kube=object(),
             component_view=lambda comp: next(views),
             component_ready=lambda comp: Observation(True, "kube-controller-manager: ready=True running"))
    inj = NS(fault=NS(component="kube-controller-manager"), before_uid="old")
    assert "renewed since it started: True" in KIND.check(lab, inj, NS(model_dump=lambda: {}))
    stale = NS(t=lambda name: 0.1, poll=0.01, hold_for=lambda spec, half=False: 0.05, kube=object(),
               component_view=lambda comp: view("old"),
               component_ready=lambda comp: Observation(True, "ready=True"))
    with pytest.raises(WaitTimeout):
        KIND.check(stale, inj, NS(model_dump=lambda: {}))
    leads["now"] = False            # Ready, the edited pod, but waiting for its lease: not yet
    idle = NS(t=lambda name: 0.1, poll=0.01, hold_for=lambda spec, half=False: 0.05, kube=object(),
              component_view=lambda comp: view("new"), component_ready=lambda comp: Observation(True, "ready=True"))
    with pytest.raises(WaitTimeout):
        KIND.check(idle, inj, NS(model_dump=lambda: {}))
