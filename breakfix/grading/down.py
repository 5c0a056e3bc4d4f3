"""For `breakfix break`: is the component visibly down? Its health checks fail and the node shows why."""
from __future__ import annotations

from ..kube import STATIC_COMPONENTS
from ..node import MANIFEST_DIR
from ..waits import Observation
from .context import GradeContext
from .kubelet import KubeletChecks
from .static_pods import StaticPodChecks
from .view import node_component


class ComponentDown:
    def __init__(self, ctx: GradeContext, pods: StaticPodChecks, kubelet: KubeletChecks):
        self.ctx, self.pods, self.kubelet = ctx, pods, kubelet
        self._no_container_before: dict[str, bool] = {}

    def __call__(self, comp: str, exclude_uid: str | None = None, since_ns: int | None = None) -> Observation:
        """Observation(ok=True once COMPONENT's health checks fail and the node shows why: an ended
        container, its error line or the kubelet's reason; for the kubelet, its unit or the node)."""
        ctx = self.ctx
        if comp == "kubelet":   # the kubelet itself, the node it reports, or the static pods it runs
            rs = [self.kubelet.check_kubelet()]
            if rs[0].passed and ctx.api_ok:
                try:
                    rs.append(self.kubelet.check_nodes())
                except Exception:  # noqa: BLE001 - the API went away since: the static pods tell
                    pass
            if not any(r.failed for r in rs):   # the static pods it runs (a worker has none)
                rs += [self.pods.check_pod(c) for c in STATIC_COMPONENTS
                       if ctx.node.exists(f"{MANIFEST_DIR}/{c}.yaml")]
            down = [r for r in rs if r.failed]
            return Observation(bool(down), "\n".join(r.evidence for r in down or rs))
        r = self.pods.check_pod(comp)
        if r.passed:
            return Observation(False, r.evidence)
        v = node_component(ctx.node, ctx.node_name, comp, exclude_uid=exclude_uid, since_ns=since_ns)
        # Its own error line, or a container of the edited pod that ended, shows it at once. A new
        # sandbox without any container (an image the kubelet cannot provide) shows it when the
        # kubelet's complaint is still there on the next look: the moment before a first container
        # starts looks the same. No new sandbox yet is not evidence (the kubelet may still be
        # stopping the old pod).
        ended = v.state is not None and not v.running and v.exit_code is not None
        no_container = v.sandbox_uid is not None and not v.state and bool(v.kubelet_lines)
        shown = bool(v.error) or ended or (no_container and self._no_container_before.get(comp, False))
        self._no_container_before[comp] = no_container
        return Observation(shown, "\n".join(v.proof() or [r.evidence]))
