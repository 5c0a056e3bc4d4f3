"""The cluster judged by what it does (breakfix.probes), and the lab's app at its replica count."""
from __future__ import annotations

from ..probes import etcd_member, deployment_ready, node_readyz, run_probes
from ..waits import Observation, wait_until
from .context import GradeContext
from .results import CheckResult


class FunctionChecks:
    """REPLICAS: the app's wanted Ready replicas (None: not checked), APP_NAME in NAMESPACE, given
    APP_TIMEOUT to get there."""

    def __init__(self, ctx: GradeContext, replicas: int | None, app_name: str, namespace: str, app_timeout: float):
        self.ctx = ctx
        self.replicas, self.app_name, self.namespace, self.app_timeout = replicas, app_name, namespace, app_timeout

    def check_functions(self, cp_down: bool) -> list[CheckResult]:
        """Every component judged by what it does (breakfix.probes): the API server writes and
        watches, etcd answers, a pod is bound and started, a Deployment is reconciled, scaled and
        collected, a Service gets its EndpointSlice, the network answers. Without the API, the node
        says whether the API server answers there (then the grader's own path is what fails)."""
        ctx = self.ctx
        if not ctx.api_ok:
            ctx.node_api = node_readyz(ctx.node)
            seen = f"API server not reachable from the grader: {ctx.api_error}"
            if ctx.node_api is not None:   # what the node itself was answered comes first
                seen = f"{ctx.node_api.text()}; {seen}"
            member = etcd_member(ctx.node)   # the node alone can say whether etcd itself answers
            return [CheckResult("kube-apiserver", "api-readyz", "fail" if ctx.node_api is None or
                                not ctx.node_api.ok else "error", seen, source="api"),
                    CheckResult(member.part, member.name, member.status, member.seen, source="node",
                                seconds=member.seconds)]
        run = run_probes(ctx.kube, ctx.node, ctx.node_name, ctx.image(),
                         min(ctx.probe_timeout, 20.0) if cp_down else ctx.probe_timeout, write=ctx.probe)
        ctx.created.extend(run.created)
        out = [CheckResult(p.part, p.name, p.status, p.seen, source=p.source, seconds=p.seconds)
               for p in run.probes]
        for r in out:
            ctx.report(r)
        return out

    def check_app(self, cp_down: bool = False) -> CheckResult:
        ctx, want = self.ctx, self.replicas
        if want is None:
            return CheckResult("app", "app_replicas", "skip", "skipped (no --replicas given)", source="api")
        if not ctx.api_ok:
            return CheckResult("app", "app_replicas", "fail", f"API server not reachable: {ctx.api_error}",
                               source="api", facts={"api_reachable": False})
        from kubernetes.client.exceptions import ApiException

        def seen() -> Observation:
            return deployment_ready(ctx.kube.deployment(self.app_name, self.namespace), want)
        try:
            obs = seen()
        except ApiException as exc:
            if exc.status == 404:
                return CheckResult("app", "app_replicas", "fail",
                                   f"deployment {self.namespace}/{self.app_name} not found", source="api",
                                   facts={"found": False})
            raise
        if obs.ok:
            return CheckResult("app", "app_replicas", "pass", obs.text(), source="api")
        d = ctx.kube.deployment(self.app_name, self.namespace)
        if (d.spec.replicas or 0) == want:   # asked for the right count: give the rollout a moment
            try:
                obs = wait_until(seen, f"{self.app_name} at {want} Ready replicas",
                                 min(self.app_timeout, 10.0) if cp_down else self.app_timeout, interval=0.5)
                return CheckResult("app", "app_replicas", "pass", obs.text(), source="api")
            except Exception as exc:  # noqa: BLE001
                obs = Observation(False, getattr(exc, "last_seen", str(exc)))
        pods = ctx.kube.pods(self.namespace, f"app={self.app_name}")
        phases = ", ".join(f"{p.metadata.name}={p.status.phase}/{p.spec.node_name or 'unscheduled'}" for p in pods)
        ev = obs.text() + f"\npods: {phases or 'none'}"
        ready = ctx.kube.deployment(self.app_name, self.namespace).status.ready_replicas or 0
        return CheckResult("app", "app_replicas", "fail", ev, source="api", facts={"ready": ready})
