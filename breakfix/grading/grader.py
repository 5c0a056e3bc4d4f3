"""The grader on a live cluster: runs every check (node and API) through its parts, then diagnoses the
failures (rootcause.py). Read-only: the files under /etc/kubernetes and the kubelet's config are
checksummed before and after; a difference fails the run loudly (ReadOnlyViolation). The one write
is a short-lived probe pod, through the API (skip it with probe=False)."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from ..catalog import Fault
from ..errors import BreakfixError
from ..kube import STATIC_COMPONENTS
from ..node import WATCHED_PATHS, Node
from ..probes import PROBE_NAMESPACE
from ..waits import Observation, timeout
from .baseline import read_baselines
from .context import GradeContext, default_probe_image, node_name_of
from .diagnosis import Finding
from .down import ComponentDown
from .functions import FunctionChecks
from .kubelet import KubeletChecks
from .results import CheckResult, GradeReport
from .rootcause import RootCauses, verdict
from .static_pods import StaticPodChecks
from .workers import WorkerChecks

__all__ = ["Grader", "ReadOnlyViolation", "compare_checksums", "default_probe_image", "node_name_of"]


class ReadOnlyViolation(BreakfixError):
    """Grading changed a file on the node. This must never happen."""


def compare_checksums(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Files added, removed or changed between two Node.checksums() maps."""
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


class Grader:
    """One grading run: its parts, one job each, share the node and the API (GradeContext): the static
    pods (static_pods.py), the kubelet (kubelet.py), the workers' kubelets (workers.py), the cluster's
    functions and the app (functions.py), the verdict and the root causes (rootcause.py), and for
    `breakfix break` whether a component is down (down.py). run() asks them and checks it wrote nothing."""

    def __init__(self, node: Node, kube, node_name: str, catalog: dict[str, Fault], *,
                 replicas: int | None = None, app_name: str = "app", namespace: str = "default",
                 probe: bool = True, probe_image: str | None = None, probe_timeout: float | None = None,
                 app_timeout: float | None = None, api_error: str | None = None, reporter=None,
                 workers: dict[str, Node | None] | None = None):
        self.catalog = catalog
        # Other nodes whose kubelet is judged too, by name (a lab step's fault on a worker): its unit,
        # its Node's Ready condition and a probe pod placed there that must start. None: not reachable.
        self.workers = {n: w for n, w in (workers or {}).items() if n != node_name}
        # The suite's named timeouts (BREAKFIX_TIMEOUT_SCALE, BREAKFIX_TIMEOUT_SCHEDULE, ...): a grader
        # on a slow lab machine scales them the same way.
        api_error = api_error if kube is not None else (api_error or "no kubeconfig")
        self.ctx = GradeContext(node, kube, node_name, api_error, probe, probe_image,
                                probe_timeout or timeout("schedule"), reporter)
        self.pods = StaticPodChecks(self.ctx)
        self.kubelet = KubeletChecks(self.ctx)
        self.worker_checks = WorkerChecks(self.ctx, self.workers)
        self.functions = FunctionChecks(self.ctx, replicas, app_name, namespace, app_timeout or timeout("scale"))
        self.causes = RootCauses(self.ctx, catalog, self.kubelet, self.worker_checks)
        # for `breakfix break`: component_down(comp, exclude_uid=, since_ns=) -> Observation
        self.component_down = ComponentDown(self.ctx, self.pods, self.kubelet)
        self._baselines: tuple | None = None

    node = property(lambda self: self.ctx.node)
    kube = property(lambda self: self.ctx.kube)
    node_name = property(lambda self: self.ctx.node_name)
    api_error = property(lambda self: self.ctx.api_error)
    api_ok = property(lambda self: self.ctx.api_ok)
    created = property(lambda self: self.ctx.created)

    @property
    def node_api(self) -> Observation | None:
        """/readyz as asked on the node, when the grader cannot reach the API."""
        return self.ctx.node_api

    @node_api.setter
    def node_api(self, value: Observation | None) -> None:
        self.ctx.node_api = value

    # --- the whole run -----------------------------------------------------------------------
    def run(self) -> GradeReport:
        t0, ctx, timed = time.monotonic(), self.ctx, self.ctx.timed
        before = ctx.node.checksums(WATCHED_PATHS)
        # The node's checks and the baselines are independent reads: asked at once.
        with ThreadPoolExecutor(max_workers=6, thread_name_prefix="grade") as pool:
            baselines = pool.submit(read_baselines, ctx.node, ctx.kube if ctx.api_ok else None)
            jobs = [pool.submit(timed, c, kind, fn) for c in STATIC_COMPONENTS for kind, fn in (
                ("manifest", lambda c=c: self.check_manifest(c)), ("pod_ready", lambda c=c: self.check_pod(c)))]
            jobs += [pool.submit(timed, "kubelet", "kubelet_active", self.check_kubelet),
                     pool.submit(timed, "kubelet", "nodes_ready", self.check_nodes)]
            jobs += [pool.submit(timed, f"kubelet on {name}", "worker_kubelet",
                                 lambda name=name, w=w: self.check_worker_kubelet(name, w))
                     for name, w in self.workers.items()]
            results: list[CheckResult] = [j.result() for j in jobs]
            for r in results:
                if r.kind == "worker_kubelet":
                    r.group = "workers"
            cp_down = any(r.failed for r in results if r.kind != "worker_kubelet")
            down = {r.component[len("kubelet on "):] for r in results if r.kind == "worker_kubelet" and r.failed}
            results.extend(self.check_functions(cp_down))
            # after the cluster's probes, whose clean-up deletes every probe pod: one worker after another
            for name, w in self.workers.items():
                results.extend(self.worker_pod(name, w, name in down))
            results.append(timed("app", "app_replicas", lambda: self.check_app(cp_down)))
            self._baselines = baselines.result()
        findings, notes = self.diagnose(results)
        after = ctx.node.checksums(WATCHED_PATHS)
        changed = compare_checksums(before, after)
        rep = GradeReport(results, ctx.node.spec, ctx.node_name,
                          {"reachable": ctx.api_ok, "detail": ctx.api_error or "ok",
                           **({"on_node": ctx.node_api.text()} if ctx.node_api is not None else {})},
                          {"paths": list(WATCHED_PATHS), "files": len(after), "unchanged": not changed,
                           "changed": changed},
                          time.monotonic() - t0, findings, notes, self.verdict(results))
        rep.probes = {"namespace": PROBE_NAMESPACE, "created": list(ctx.created), "write": ctx.probe}
        if changed:
            raise_with = ReadOnlyViolation(f"grading changed files on the node: {', '.join(changed)[:300]}")
            raise_with.report = rep  # type: ignore[attr-defined]
            raise raise_with
        return rep

    # --- the parts' checks, by their names -----------------------------------------------------
    def verdict(self, results: list[CheckResult]) -> str:
        return verdict(results, self.ctx)

    def diagnose(self, results: list[CheckResult]) -> tuple[list[Finding], list[str]]:
        return self.causes.diagnose(results, self._baselines)

    def check_manifest(self, comp: str) -> CheckResult:
        return self.pods.check_manifest(comp)

    def check_pod(self, comp: str) -> CheckResult:
        return self.pods.check_pod(comp)

    def check_kubelet(self) -> CheckResult:
        return self.kubelet.check_kubelet()

    def check_nodes(self) -> CheckResult:
        return self.kubelet.check_nodes()

    def check_worker_kubelet(self, name: str, node: Node | None) -> CheckResult:
        return self.worker_checks.check_worker_kubelet(name, node)

    def worker_pod(self, name: str, node: Node | None, down: bool) -> list[CheckResult]:
        return self.worker_checks.worker_pod(name, node, down)

    def check_functions(self, cp_down: bool) -> list[CheckResult]:
        return self.functions.check_functions(cp_down)

    def check_app(self, cp_down: bool = False) -> CheckResult:
        return self.functions.check_app(cp_down)
