"""The control plane node's kubelet: its unit active and staying up, and every Node Ready; failing,
the kubelet's own error lines."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..loglines import KLOG_ERR
from ..node import Node
from ..waits import Observation
from .context import GradeContext, tail
from .readiness import stays_up
from .results import MIN_UPTIME_S, CheckResult

# A kubelet journal line worth showing: a klog error or fatal line, or one that says error or failed.
_KLOG_ERR = re.compile(KLOG_ERR.pattern + r"|\berror\b|\bfailed\b", re.I)


@dataclass
class KubeletUnit:
    """The kubelet's unit as systemd reports it (`systemctl show`), and how long it has been active."""
    state: str
    sub: str | None
    result: str | None
    restarts: str | None
    up: float


def kubelet_unit(node: Node) -> KubeletUnit:
    props = dict(ln.partition("=")[::2] for ln in node.run(
        "systemctl show -p ActiveState,SubState,Result,NRestarts,ActiveEnterTimestampMonotonic kubelet; "
        "echo Uptime=$(cut -d' ' -f1 /proc/uptime)").stdout.splitlines() if "=" in ln)
    try:
        up = float(props.get("Uptime", 0)) - int(props.get("ActiveEnterTimestampMonotonic", 0)) / 1e6
    except ValueError:
        up = 0.0
    return KubeletUnit(props.get("ActiveState", "unknown"), props.get("SubState"), props.get("Result"),
                       props.get("NRestarts"), up)


def journal_errors(node: Node) -> str:
    """The kubelet journal's last error lines, as evidence ("" when there are none)."""
    j = node.journal("kubelet", lines=200)
    errs = [ln for ln in j.splitlines() if _KLOG_ERR.search(ln)]
    return "\nkubelet journal:\n" + tail("\n".join(errs), 5) if errs else ""


class KubeletChecks:
    """The graded node's kubelet (kubelet_active) and the nodes it and the others report (nodes_ready)."""

    def __init__(self, ctx: GradeContext):
        self.ctx = ctx
        self.state: str | None = None     # the unit's ActiveState at the last look

    def seen(self) -> Observation:
        u = kubelet_unit(self.ctx.node)
        self.state = u.state
        return Observation(u.state == "active" and u.up >= MIN_UPTIME_S,
                           f"kubelet is {u.state} ({u.sub}, result={u.result}, restarts={u.restarts}, up {u.up:.0f}s)")

    def check_kubelet(self) -> CheckResult:
        # A kubelet that restarts in a loop is "active" for a moment each time: it has to stay up.
        obs = stays_up(self.seen, lambda: self.state == "active", "kubelet up")
        if obs.ok:
            return CheckResult("kubelet", "kubelet_active", "pass", obs.text())
        return CheckResult("kubelet", "kubelet_active", "fail", obs.text() + journal_errors(self.ctx.node))

    def check_nodes(self) -> CheckResult:
        ctx = self.ctx
        if not ctx.api_ok:
            return CheckResult("kubelet", "nodes_ready", "fail", f"API server not reachable: {ctx.api_error}",
                               source="api")
        nodes = ctx.kube.core.list_node(_request_timeout=10).items
        lines, ok = [], True
        for n in nodes:
            cond = next((c for c in n.status.conditions or [] if c.type == "Ready"), None)
            ready = bool(cond and cond.status == "True")
            ok &= ready
            lines.append(f"node {n.metadata.name} Ready={cond.status if cond else 'unknown'}"
                         + ("" if ready else f" ({cond.reason if cond else ''}: {cond.message if cond else ''})"))
        if not nodes:
            ok = False
            lines.append("no nodes registered")
        if ok:
            return CheckResult("kubelet", "nodes_ready", "pass", "; ".join(lines), source="api")
        return CheckResult("kubelet", "nodes_ready", "fail", "\n".join(lines) + journal_errors(ctx.node), source="api")
