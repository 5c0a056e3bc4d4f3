"""The control plane's static pods, one component at a time: its manifest as the kubelet runs it
(valid YAML, its image present, its host paths there) and its pod Ready, from the API's mirror pod or,
without the API, from the node (its container running long enough, no failing probe)."""
from __future__ import annotations

import shlex

import yaml

from ..kube import container_view
from ..node import MANIFEST_DIR
from .context import GradeContext, tail
from .manifests import _container0, manifest_problems, needed_paths
from .readiness import ready_once_started
from .results import MIN_UPTIME_S, CheckResult
from .view import node_component, probe_failures


class StaticPodChecks:
    def __init__(self, ctx: GradeContext):
        self.ctx = ctx
        self.manifests: dict[str, str] = {}     # each component's manifest as read

    # --- the manifest ----------------------------------------------------------------------------
    def check_manifest(self, comp: str) -> CheckResult:
        node = self.ctx.node
        path = f"{MANIFEST_DIR}/{comp}.yaml"
        r = node.run(f"cat {shlex.quote(path)}")
        if not r.ok:
            ev = f"{path}: cannot read: {(r.stderr or r.stdout).strip()[:200]}"
            return CheckResult(comp, "manifest", "fail", ev)
        self.manifests[comp] = r.stdout
        try:
            doc = yaml.safe_load(r.stdout)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            ev = f"{path}: not valid YAML" + (f" at line {mark.line + 1}" if mark else "") + \
                 f": {getattr(exc, 'problem', exc)}"
            return CheckResult(comp, "manifest", "fail", ev)
        existing = self._existing(needed_paths(doc, comp))
        images: dict[str, bool] = {}

        def image_present(img: str) -> bool:
            if img not in images:
                images[img] = node.crictl(f"inspecti -o json {shlex.quote(img)} >/dev/null").ok
            return images[img]

        problems = manifest_problems(doc, comp, existing.__contains__, image_present)
        if problems:
            ev = f"{path}:\n" + "\n".join(problems)
            return CheckResult(comp, "manifest", "fail", ev)
        c = _container0(doc) or {}
        return CheckResult(comp, "manifest", "pass", f"{path}: image {c.get('image')} present, "
                                                     f"{len(existing)} host paths found")

    def _existing(self, paths: list[str]) -> set[str]:
        if not paths:
            return set()
        cmd = "; ".join(f"test -e {shlex.quote(p)} && echo {shlex.quote('Y ' + p)}" for p in paths) + "; true"
        out = self.ctx.node.check(cmd)
        return {ln[2:] for ln in out.splitlines() if ln.startswith("Y ")}

    # --- the pod -----------------------------------------------------------------------------------
    def check_pod(self, comp: str) -> CheckResult:
        ctx = self.ctx
        note, mirror_missing = "", False
        if ctx.api_ok:
            from kubernetes.client.exceptions import ApiException
            try:
                return self._pod_api(comp)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                mirror_missing = True     # a running container the API has no mirror pod of is not Ready
                note = (f"mirror pod kube-system/{comp}-{ctx.node_name} not found in the API "
                        "(the kubelet is not running it)\n")
            except Exception as exc:  # noqa: BLE001 - the API went away during the run: look on the node
                note = f"API server: {type(exc).__name__}; graded from the node\n"
        r = self._pod_node(comp)
        if note:
            r.evidence = note + r.evidence
            if r.passed and mirror_missing:
                r.status = "fail"
        return r

    def _pod_api(self, comp: str) -> CheckResult:
        kube = self.ctx.kube
        pod_name = f"{comp}-{self.ctx.node_name}"
        v = ready_once_started(kube, pod_name, container_view(kube.pod(pod_name)))
        if v.ready and v.running:
            return CheckResult(comp, "pod_ready", "pass", v.line(), source="api")
        lines = [v.line()]
        if v.waiting_message:
            lines.append(f"waiting message: {v.waiting_message.strip()[:400]}")
        log, which = "", ""
        for previous in (True, False):
            try:
                log = kube.logs(pod_name, previous=previous, tail=200) or ""
            except Exception:  # noqa: BLE001 - no such container (yet)
                log = ""
            if log.strip():
                which = "previous log" if previous else "log"
                break
        if log.strip():
            lines.append(f"{which} tail:\n{tail(log, 6)}")
        else:
            nv = self._pod_node(comp)
            lines.append("on the node: " + nv.evidence)
        return CheckResult(comp, "pod_ready", "fail", "\n".join(lines), source="api")

    def _pod_node(self, comp: str) -> CheckResult:
        node = self.ctx.node
        v = node_component(node, self.ctx.node_name, comp)
        if not v.listed:
            return CheckResult(comp, "pod_ready", "fail", v.problem or "crictl failed")
        if v.running:
            up = (int(node.check("date +%s%N").strip()) - v.created_ns) / 1e9
            # Without the API there is no Ready flag: the kubelet logs every failing probe, so a
            # container that runs yet fails its probes in the last 30 s is not Ready.
            failing = "\n".join(probe_failures(node, v.pod, since="-30s")[-3:]).strip()
            if up >= MIN_UPTIME_S and not failing:
                return CheckResult(comp, "pod_ready", "pass", f"{v.line()} running for {up:.0f}s, no failing probes "
                                                              f"in the kubelet's journal")
            ev = f"{v.line()} running for {up:.0f}s" + (f"\nkubelet: its probes fail:\n{failing}" if failing
                                                        else " (too short to count as up)")
            return CheckResult(comp, "pod_ready", "fail", ev)
        ev = "\n".join([v.line()] + (["kubelet journal:\n" + "\n".join(v.kubelet_lines)] if v.kubelet_lines else [])
                       + ([f"log tail:\n{tail(v.log, 6)}"] if v.log else []))
        return CheckResult(comp, "pod_ready", "fail", ev)
