"""Symptom kind `pod_not_started`: its fields and its check."""
from __future__ import annotations

from .. import probes
from ..params import HOLD
from ..waits import Observation, hold
from ._kind import SymptomKind, wait_seen


def _pod_not_started(lab, inj, spec) -> str:
    """A fresh probe pod placed on the node the fault broke (a node affinity on its name, which the
    scheduler decides) does not run for the hold: Pending, either never bound (the NotReady node's
    taint) or bound and never started (its kubelet does not run it). Decided from the pod's phase,
    node and container state; its events are evidence."""
    name = lab.kube.create_probe_pod(lab.probe_image, lab.namespace, node=lab.node_name)
    inj.context.probe_pods.append(name)

    def not_running() -> Observation:
        st = probes.pod_state(lab.kube.pod(name, lab.namespace))
        return Observation(st["phase"] == "Pending" and not st["running"],
                           f"pod {name} for node {lab.node_name}: phase={st['phase']} node={st['node'] or '<none>'} "
                           f"PodScheduled={st['scheduled'] or '<unset>'}")

    wait_seen(not_running, f"pod {name} Pending", lab.t("symptom"), lab.poll)
    held = hold(not_running, f"pod {name} does not start on {lab.node_name}", lab.hold_for({"hold": spec.hold}),
                interval=lab.poll).text()
    events = "; ".join(f"{e.reason}: {' '.join((e.message or '').split())[:200]}"
                       for e in lab.kube.events_for(name, lab.namespace)[-3:])
    return held + (f"\nevents: {events}" if events else "")


KIND = SymptomKind(
    "pod_not_started",
    "a new pod placed on the fault's node does not run for a while: Pending, unscheduled (the NotReady node's "
    "taint) or bound and never started",
    {"hold": (HOLD, None)},
    _pod_not_started)
