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
