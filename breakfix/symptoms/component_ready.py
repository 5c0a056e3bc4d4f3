"""Symptom kind `component_ready`: its fields and its check."""
from __future__ import annotations

from .. import probes
from ..kube import LEADER_ELECTED, STATIC_COMPONENTS
from ..params import HOLD
from ..waits import Observation, hold, wait_until
from ._kind import SymptomKind


def _component_ready(lab, inj, spec) -> str:
    """The component runs and is Ready, and stays so; a leader-elected one also leads (its lease
    renewed since its container started). For a static pod whose manifest was edited, the mirror
    pod must show the edited pod (its config hash is not the one before the edit): the old pod's
    mirror keeps its last Ready status until the kubelet replaces it, which proves nothing of the
    edited pod."""
    comp = inj.fault.component
    old = inj.before_uid if comp in STATIC_COMPONENTS else None

    def probe() -> Observation:
        if old:
            v = lab.component_view(comp)
            if v.config_hash == old:
                return Observation(False, f"mirror pod still shows the pod from before the edit: {v.line()}")
        obs = lab.component_ready(comp)
        if comp not in LEADER_ELECTED or not obs.ok:
            return obs
        # Ready is its health endpoint; it does its job only while it leads: otherwise a symptom
        # that follows ("scaling creates no pod") would hold for want of a leader.
        v = lab.component_view(comp)
        leads = probes.lease_renewed_since(lab.kube, comp, v.started_at) if v.running else None
        return Observation(leads is True, f"{obs.text()}; lease {comp} renewed since it started: {leads}")

    wait_until(probe, f"{comp} Ready", lab.t("symptom"), interval=lab.poll)
    return hold(probe, f"{comp} stays Ready", lab.hold_for(spec.model_dump(), half=True), interval=lab.poll).text()


KIND = SymptomKind(
    "component_ready",
    "the component itself stays Ready (the fault is in what it does, not whether it runs)",
    {"hold": (HOLD, None)},
    _component_ready)
