"""The run's verdict, and its diagnosis: the failed parts ordered into root causes and what they
block, each root cause with its changed line (node files against their baseline, baseline.py), its
proof (diagnosis.py over the node's view, view.py) and, as a bonus, the catalog fault whose edits
give exactly that change."""
from __future__ import annotations

from ..catalog import Fault
from ..journal import Journal, JournalError
from ..kube import STATIC_COMPONENTS, container_view
from ..node import MANIFEST_DIR
from ..probes import TITLES as PROBE_TITLES
from .baseline import part_of, read_baselines
from .context import GradeContext
from .diagnosis import (Finding, catalog_match, changes, clip, error_line, healthy_noise, mention_line, root_causes,
                        running_proof)
from .kubelet import KubeletChecks
from .results import CheckResult, LikelyFault
from .view import node_component, unit_journal
from .workers import WorkerChecks


def verdict(results: list[CheckResult], ctx: GradeContext) -> str:
    """fail: a check or a functional probe failed: the cluster does not do its job (an API server
    that answers with errors or time-outs has failed its probe). could-not-grade: only when the
    grader itself cannot see: a probe that could not run for its own reasons (credentials that may
    not create objects) and nothing failed, or an API server that does not answer the grader while
    it answers on the node and nothing on the node is down (the grader's own path is the problem)."""
    failed = [r for r in results if r.failed]
    if not failed:
        return "could-not-grade" if any(r.status == "error" for r in results) else "pass"
    if not ctx.api_ok and not any(r.source == "node" for r in failed):
        return "could-not-grade" if ctx.node_api is None or ctx.node_api.ok else "fail"
    return "fail"


class RootCauses:
    def __init__(self, ctx: GradeContext, catalog: dict[str, Fault], kubelet: KubeletChecks, workers: WorkerChecks):
        self.ctx, self.catalog, self.kubelet, self.workers = ctx, catalog, kubelet, workers
        self._files: dict[str, bytes | None] = {}

    def diagnose(self, results: list[CheckResult], baselines: tuple | None = None) -> tuple[list[Finding], list[str]]:
        """Root causes first: each with the changed line (node files against BASELINES, read from the
        node when None), the proof (its own words since its current container or process started, how
        its container ended, the kubelet's reason, the probe that failed) and, as a bonus, the catalog
        fault whose edits give exactly that change. The rest is "blocked by". When every check
        passes, a changed line is a warning (role "warn")."""
        ctx = self.ctx
        failing = {r.part for r in results if r.failed}
        kubelet = unit_journal(ctx.node, "kubelet")
        journal = "\n".join(kubelet.all)
        views = {c: node_component(ctx.node, ctx.node_name, c, journal) for c in STATIC_COMPONENTS} \
            if failing else {}
        # A static pod the kubelet no longer even tries to run (no ready sandbox, no container, and
        # not one journal record about it since the kubelet last started): the kubelet is where it
        # breaks, not the component.
        since = kubelet.text()
        orphans = [c for c, v in views.items() if c in failing and v.listed and not v.running
                   and v.sandbox_state != "SANDBOX_READY" and v.pod not in since]
        if orphans:
            failing.add("kubelet")
        base, notes = baselines or read_baselines(ctx.node, ctx.kube if ctx.api_ok else None)
        changed: dict[str, list] = {}
        files = ctx.node.read_many(list(base))
        for path, (text, source) in base.items():
            now = (files.get(path) or b"").decode("utf-8", "replace")
            found = changes(path, now, text, source, self._read)
            if found:
                changed.setdefault(part_of(path), []).extend(found)
        if not base:
            notes.append("no baseline on the node (no backup from `breakfix break`, no `breakfix snapshot`): "
                         "changed lines cannot be shown")
        if not failing:
            return [Finding(part, role="warn", changed=found) for part, found in changed.items()], notes
        findings = root_causes(failing, changed)
        for f in findings:   # a worker's kubelet files, against the backup a fault set up there left
            if f.component == "workers" and f.role == "root-cause":
                f.changed.extend(self.workers.changes())
        try:   # the faults `breakfix break` set up on this node name the catalog match first
            journaled = frozenset(e.fault for e in Journal(ctx.node).entries())
        except JournalError:
            journaled = frozenset()
        by_part: dict[str, list[CheckResult]] = {}
        for r in results:
            if r.failed:
                by_part.setdefault(r.part, []).append(r)
        texts = {p: t for p, (t, _) in base.items()}
        for f in findings:
            if f.role != "root-cause":
                continue
            # its own failed checks, then the probes that failed in the parts it blocks
            blocked = [r for x in findings if x.blocked_by == f.component for r in by_part.get(x.component, [])
                       if r.kind in PROBE_TITLES]
            f.proof = self.proof(f, since, by_part.get(f.component, []) + blocked[:3], views, findings)
            if f.component == "kubelet" and orphans:
                f.proof.append(f"since it started, the kubelet has not run or even mentioned the pods of "
                               f"{', '.join(orphans)}, whose manifests are in {MANIFEST_DIR}")
            f.catalog = catalog_match(f.component, f.changed, texts, self.catalog, journaled)
        # Each failed check names the catalog fault of its root cause (compatibility: likely_fault).
        cause = {f.component: f for f in findings if f.role == "root-cause"}
        for r in results:
            if not r.failed:
                continue
            f = cause.get(r.part) or cause.get(next((x.blocked_by for x in findings if x.component == r.part), ""))
            if f is not None and f.catalog is not None:
                r.likely_fault = LikelyFault(f.catalog.id, f.catalog.title, f.catalog.remediation,
                                             ["its edits, applied to the baseline, give the changed line"],
                                             via=None if f.component == r.part else f.component)
        return findings, notes

    def _read(self, path: str) -> bytes | None:
        """A file a kubeconfig names, as the node has it (None: not there); read once a run."""
        if path not in self._files:
            try:
                self._files.update(self.ctx.node.read_many([path]))
            except Exception:  # noqa: BLE001 - unreadable is "not there" for a comparison
                self._files[path] = None
        return self._files[path]

    def proof(self, f: Finding, kubelet_since: str, checks: list[CheckResult], views: dict,
              findings: list[Finding]) -> list[str]:
        """What proves F (a root cause), strongest first: the component's own line naming the value
        that changed; its own words since its current container or process started (never a line a
        healthy component logs too); how its container ended; the kubelet's reason; the probe that
        failed. A root cause that runs and says nothing is proven by what its dependents say."""
        part, lines = f.component, []
        view = views.get(part)
        if part in STATIC_COMPONENTS and view is not None:
            said = view.current_log if view.running else view.log
            lines += [x for x in (mention_line(said, f.changed),) if x]
            lines += view.proof() if not view.running else [x for x in (running_proof(view.current_log),) if x]
            if self.ctx.api_ok:
                try:
                    v = container_view(self.ctx.kube.pod(f"{part}-{self.ctx.node_name}"))
                    if v.waiting_reason and v.waiting_reason != "CrashLoopBackOff":
                        lines.append(f"kubelet: {v.waiting_reason}" + (f": {v.waiting_message.strip()[:300]}"
                                                                      if v.waiting_message else ""))
                except Exception:  # noqa: BLE001 - the node's view above stands on its own
                    pass
        elif part == "kubelet":
            lines += [x for x in (mention_line(kubelet_since, f.changed),) if x]
            err = error_line(kubelet_since)
            if err and not healthy_noise(err):
                lines.append(err)
        for check in checks:   # the probes that failed are proof of their own
            if check.kind in PROBE_TITLES or check.part not in STATIC_COMPONENTS:
                first = next((ln.strip() for ln in check.evidence.splitlines() if ln.strip()), "")
                lines.append(clip(f"{check.name}: {first}"))
        said_something = bool(lines)
        if part == "kubelet":   # the unit's state, after what proves the fault (not active: proof itself)
            lines.append(self.kubelet.seen().text())
            said_something = said_something or self.kubelet.state != "active"
        if not said_something or (view is not None and view.running and len(lines) <= 1):
            for dep in findings:   # what the parts it blocks say (the API server's refused dial to etcd)
                dv = views.get(dep.component)
                if dep.blocked_by == part and dv is not None:
                    said = dv.current_log if dv.running else dv.log
                    line = mention_line(said, f.changed) or running_proof(said)
                    if line:
                        lines.append(f"{dep.component}: {line}")
        out: list[str] = []
        for ln in lines:
            if ln and not any(ln[:120] in o or o[:120] in ln for o in out):
                out.append(ln)
        return out
