"""Symptom kind `scale_stuck`: its fields and its check."""
from __future__ import annotations

from ..params import HOLD
from ..waits import Observation, hold
from ._kind import SymptomKind


def _scale_stuck(lab, inj, spec) -> str:
    base, _, _ = lab.app_ready_replicas()
    target = spec.replicas or base + spec.add
    if inj.context.app_base is None:
        inj.context.app_base = base
    inj.context.scale_target = target
    # "Scaling creates no pod": the pods listed before the scale (a pod of an earlier scale-down may
    # still be terminating) are not counted; any other pod of the app is a reaction.
    before = {p.metadata.uid for p in lab.kube.pods(lab.namespace, f"app={lab.app_name}")}
    lab.kube.scale(lab.app_name, target, lab.namespace)

    def stuck() -> Observation:
        d = lab.kube.deployment(lab.app_name, lab.namespace)
        pods = lab.kube.pods(lab.namespace, f"app={lab.app_name}")
        new = [p.metadata.name for p in pods if p.metadata.uid not in before]
        seen = (f"deployment {lab.app_name}: spec.replicas={d.spec.replicas} status.replicas={d.status.replicas or 0} "
                f"ready={d.status.ready_replicas or 0}; pods {len(pods)}, created since the scale: {new or 'none'}")
        return Observation(d.spec.replicas == target and not new, seen)

    return hold(stuck, f"{lab.app_name} stays below {target} replicas", lab.hold_for(spec.model_dump()),
                interval=lab.poll).text()


KIND = SymptomKind(
    "scale_stuck",
    "scaling `app` up does not create pods for a while",
    {"add": (int, 1), "replicas": (int, None), "hold": (HOLD, None)},
    _scale_stuck)
