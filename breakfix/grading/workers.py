"""The other nodes a lab step's fault is on: each worker's kubelet (its unit staying up, its Node
Ready, its own error line), a probe pod placed there that must start, and what changed in its
kubelet files against the backup a fault left on that worker."""
from __future__ import annotations

from ..journal import Journal
from ..node import Node
from ..probes import ensure_namespace, pod_probes
from ..waits import Observation
from .baseline import DIAGNOSED_FILES
from .context import GradeContext
from .diagnosis import changes, clip, error_line, healthy_noise, running_proof
from .kubelet import kubelet_unit
from .readiness import stays_up
from .results import MIN_UPTIME_S, CheckResult
from .view import unit_journal


class WorkerChecks:
    """WORKERS: {node name: its Node, or None when the transport cannot reach it}."""

    def __init__(self, ctx: GradeContext, workers: dict[str, Node | None]):
        self.ctx, self.workers = ctx, workers

    def check_worker_kubelet(self, name: str, node: Node | None) -> CheckResult:
        """A worker's kubelet: its unit active and up (a kubelet restarting in a loop is active for a
        moment each time) and its Node Ready. Failing: its own error line since it started."""
        if node is None:
            return CheckResult(f"kubelet on {name}", "worker_kubelet", "error",
                               f"node {name} is not reachable from here (only a kind cluster's nodes are)")
        last = [None]

        def seen() -> Observation:
            u = last[0] = kubelet_unit(node)
            return Observation(u.state == "active" and u.up >= MIN_UPTIME_S,
                               f"kubelet on {name} is {u.state} ({u.sub}, restarts={u.restarts}, up {u.up:.0f}s)")
        obs = stays_up(seen, lambda: last[0].state == "active", f"kubelet on {name} up")
        lines, ok = [obs.text()], obs.ok
        if self.ctx.api_ok:
            ready, text = self.ctx.kube.node_ready(name)
            ok &= ready
            lines.append(text)
        if ok:
            return CheckResult(f"kubelet on {name}", "worker_kubelet", "pass", "; ".join(lines), source="node")
        said = unit_journal(node, "kubelet").text()
        err = running_proof(said) or error_line(said)   # what it cannot do (an x509 refusal) first
        if err and not healthy_noise(err):
            lines.insert(0, f"kubelet on {name}: {clip(err)}")
        return CheckResult(f"kubelet on {name}", "worker_kubelet", "fail", "\n".join(lines), source="node")

    def worker_pod(self, name: str, node: Node | None, down: bool) -> list[CheckResult]:
        """A probe pod placed on worker NAME (a node affinity, every taint tolerated) is bound, starts,
        gets an IP, its logs are served and its DNS server is the cluster's: the worker's kubelet judged
        by what it does. Shorter waits when its kubelet is already seen down."""
        ctx = self.ctx
        if not ctx.api_ok or not ctx.probe:
            return []
        created: list[str] = []
        t = min(ctx.probe_timeout, 20.0) if down else ctx.probe_timeout
        try:
            ensure_namespace(ctx.kube, created)
            probes = pod_probes(ctx.kube, node, ctx.image(), t, created, node_name=name)
        except Exception as exc:  # noqa: BLE001 - the probe could not run: proves nothing
            return [CheckResult(f"kubelet on {name}", "pod-started", "error", f"probe could not run: {exc}",
                                source="api", group="workers")]
        ctx.created.extend(created)
        return [CheckResult(f"kubelet on {name}", p.name, p.status, p.seen, source=p.source, seconds=p.seconds,
                            group="workers") for p in probes]

    def changes(self) -> list:
        """What changed in each graded worker's kubelet files (its kubeconfig, config.yaml, flags)
        against the backup `breakfix break` or `lab setup` left on that worker; kubeadm's renderings
        are the control plane's, so a worker is compared with its own backups only."""
        out = []
        for w in self.workers.values():
            if w is None:
                continue
            try:
                entries = [e for e in Journal(w).entries() if e.path in DIAGNOSED_FILES and e.backup]
                for e in entries:
                    now = (w.read_many([e.path]).get(e.path) or b"").decode("utf-8", "replace")
                    base = w.read_bytes(e.backup).decode("utf-8", "replace")
                    out.extend(changes(e.path, now, base, "backup", lambda p, w=w: w.read_many([p]).get(p)))
            except Exception:  # noqa: BLE001 - no baseline from that node: its proof still stands
                continue
        return out
