"""The grader on a live cluster: runs every check (node and API), then diagnoses the failures
(diagnosis.py over the node's view, view.py, and the baselines, baseline.py). Read-only: the files
under /etc/kubernetes and the kubelet's config are checksummed before and after; a difference
fails the run loudly (ReadOnlyViolation). The one write is a short-lived probe pod, through the API
(skip it with probe=False)."""
from __future__ import annotations

import json
import re
import shlex
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import yaml

from ..catalog import Fault
from ..errors import BreakfixError
from ..journal import Journal, JournalError
from ..kube import STATIC_COMPONENTS, container_view
from ..loglines import KLOG_ERR
from ..node import MANIFEST_DIR, WATCHED_PATHS, Node
from ..waits import Observation, WaitTimeout, timeout, wait_until
from .baseline import part_of, read_baselines
from .diagnosis import (Finding, catalog_match, changes, clip, error_line, healthy_noise, mention_line, root_causes,
                        running_proof)
from .manifests import _container0, manifest_problems, needed_paths
from .render import _first
from .results import MIN_UPTIME_S, READY_GRACE_S, CheckResult, GradeReport, LikelyFault
from .view import node_component, probe_failures, unit_journal
from ..probes import PROBE_NAMESPACE, deployment_ready, etcd_member, TITLES as PROBE_TITLES, node_readyz, run_probes


class ReadOnlyViolation(BreakfixError):
    """Grading changed a file on the node. This must never happen."""


def compare_checksums(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Files added, removed or changed between two Node.checksums() maps."""
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def _tail(text: str, n: int) -> str:
    return "\n".join(ln for ln in text.strip().splitlines()[-n:])


# A kubelet journal line worth showing: a klog error or fatal line, or one that says error or failed.
_KLOG_ERR = re.compile(KLOG_ERR.pattern + r"|\berror\b|\bfailed\b", re.I)


def node_name_of(node: Node) -> str:
    """The Kubernetes node name of the graded node. The kubelet names a static pod after its
    manifest's metadata.name and the node (`<metadata.name>-<node>`): a kube-system pod sandbox whose
    config source is a file (crictl's kubernetes.io/config.source annotation) and whose name is a
    control-plane manifest's metadata.name (read from the manifest) followed by `-` gives it. The
    hostname when there is none."""
    r = node.crictl("pods -o json")
    if r.ok:
        names = set()
        for data in node.read_many([f"{MANIFEST_DIR}/{c}.yaml" for c in STATIC_COMPONENTS]).values():
            try:
                md = (yaml.safe_load(data or b"") or {}).get("metadata") or {}
            except (yaml.YAMLError, AttributeError):
                continue
            if isinstance(md, dict) and isinstance(md.get("name"), str):
                names.add(md["name"])
        for item in json.loads(r.stdout or "{}").get("items") or []:
            md, ann = item.get("metadata") or {}, item.get("annotations") or {}
            if md.get("namespace") != "kube-system" or ann.get("kubernetes.io/config.source") != "file":
                continue
            pod = md.get("name", "")
            for name in sorted(names, key=len, reverse=True):
                if pod.startswith(name + "-") and len(pod) > len(name) + 1:
                    return pod[len(name) + 1:]
    return node.check("hostname").strip().lower()


def default_probe_image(node: Node, fallback: str = "kube-breakfix/app:v1") -> str:
    """The pause image present on the node (every node has the sandbox image), else FALLBACK."""
    r = node.crictl("images -o json")
    if r.ok:
        for img in json.loads(r.stdout or "{}").get("images") or []:
            for tag in img.get("repoTags") or []:
                if "/pause:" in tag:
                    return tag
    return fallback


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


class Grader:
    def __init__(self, node: Node, kube, node_name: str, catalog: dict[str, Fault], *,
                 replicas: int | None = None, app_name: str = "app", namespace: str = "default",
                 probe: bool = True, probe_image: str | None = None, probe_timeout: float | None = None,
                 app_timeout: float | None = None, api_error: str | None = None, reporter=None,
                 workers: dict[str, Node | None] | None = None):
        self.node, self.kube, self.node_name, self.catalog = node, kube, node_name, catalog
        # Other nodes whose kubelet is judged too, by name (a lab step's fault on a worker): its unit,
        # its Node's Ready condition and a probe pod placed there that must start. None: not reachable.
        self.workers = {n: w for n, w in (workers or {}).items() if n != node_name}
        self.replicas, self.app_name, self.namespace = replicas, app_name, namespace
        # The suite's named timeouts (BREAKFIX_TIMEOUT_SCALE, BREAKFIX_TIMEOUT_SCHEDULE, ...): a grader
        # on a slow lab machine scales them the same way.
        self.probe, self.probe_image = probe, probe_image
        self.probe_timeout = probe_timeout or timeout("schedule")
        self.app_timeout = app_timeout or timeout("scale")
        self.api_error = api_error if kube is not None else (api_error or "no kubeconfig")
        self.manifests: dict[str, str] = {}
        self.created: list[str] = []
        self._files: dict[str, bytes | None] = {}
        self._baselines: tuple | None = None
        self.node_api = None      # /readyz as asked on the node, when the grader cannot reach the API
        self._no_container_before: dict[str, bool] = {}
        self.reporter = reporter

    @property
    def api_ok(self) -> bool:
        return self.kube is not None and self.api_error is None

    # --- the whole run -----------------------------------------------------------------------
    def run(self) -> GradeReport:
        t0 = time.monotonic()
        before = self.node.checksums(WATCHED_PATHS)
        # The node's checks and the baselines are independent reads: asked at once.
        with ThreadPoolExecutor(max_workers=6, thread_name_prefix="grade") as pool:
            baselines = pool.submit(read_baselines, self.node, self.kube if self.api_ok else None)
            jobs = [pool.submit(self._timed, c, kind, fn) for c in STATIC_COMPONENTS for kind, fn in (
                ("manifest", lambda c=c: self.check_manifest(c)), ("pod_ready", lambda c=c: self.check_pod(c)))]
            jobs += [pool.submit(self._timed, "kubelet", "kubelet_active", self.check_kubelet),
                     pool.submit(self._timed, "kubelet", "nodes_ready", self.check_nodes)]
            jobs += [pool.submit(self._timed, f"kubelet on {name}", "worker_kubelet",
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
            results.append(self._timed("app", "app_replicas", lambda: self.check_app(cp_down)))
            self._baselines = baselines.result()
        findings, notes = self.diagnose(results)
        after = self.node.checksums(WATCHED_PATHS)
        changed = compare_checksums(before, after)
        rep = GradeReport(results, self.node.spec, self.node_name,
                          {"reachable": self.api_ok, "detail": self.api_error or "ok",
                           **({"on_node": self.node_api.text()} if self.node_api is not None else {})},
                          {"paths": list(WATCHED_PATHS), "files": len(after), "unchanged": not changed,
                           "changed": changed},
                          time.monotonic() - t0, findings, notes, self.verdict(results))
        rep.probes = {"namespace": PROBE_NAMESPACE, "created": list(self.created), "write": self.probe}
        if changed:
            raise_with = ReadOnlyViolation(f"grading changed files on the node: {', '.join(changed)[:300]}")
            raise_with.report = rep  # type: ignore[attr-defined]
            raise raise_with
        return rep

    def verdict(self, results: list[CheckResult]) -> str:
        """fail: a check or a functional probe failed: the cluster does not do its job (an API server
        that answers with errors or time-outs has failed its probe). could-not-grade: only when the
        grader itself cannot see: a probe that could not run for its own reasons (credentials that may
        not create objects) and nothing failed, or an API server that does not answer the grader while
        it answers on the node and nothing on the node is down (the grader's own path is the problem)."""
        failed = [r for r in results if r.failed]
        if not failed:
            return "could-not-grade" if any(r.status == "error" for r in results) else "pass"
        if not self.api_ok and not any(r.source == "node" for r in failed):
            return "could-not-grade" if self.node_api is None or self.node_api.ok else "fail"
        return "fail"

    def check_functions(self, cp_down: bool) -> list[CheckResult]:
        """Every component judged by what it does (breakfix.probes): the API server writes and
        watches, etcd answers, a pod is bound and started, a Deployment is reconciled, scaled and
        collected, a Service gets its EndpointSlice, the network answers. Without the API, the node
        says whether the API server answers there (then the grader's own path is what fails)."""
        if not self.api_ok:
            self.node_api = node_readyz(self.node)
            seen = f"API server not reachable from the grader: {self.api_error}"
            if self.node_api is not None:   # what the node itself was answered comes first
                seen = f"{self.node_api.text()}; {seen}"
            member = etcd_member(self.node)   # the node alone can say whether etcd itself answers
            return [CheckResult("kube-apiserver", "api-readyz", "fail" if self.node_api is None or
                                not self.node_api.ok else "error", seen, source="api"),
                    CheckResult(member.part, member.name, member.status, member.seen, source="node",
                                seconds=member.seconds)]
        image = self.probe_image or default_probe_image(self.node)
        run = run_probes(self.kube, self.node, self.node_name, image,
                         min(self.probe_timeout, 20.0) if cp_down else self.probe_timeout, write=self.probe)
        self.created.extend(run.created)
        out = [CheckResult(p.part, p.name, p.status, p.seen, source=p.source, seconds=p.seconds)
               for p in run.probes]
        if self.reporter is not None:
            for r in out:
                self.reporter.timing(f"check {r.id}", r.seconds)
        return out

    def _timed(self, component: str, kind: str, fn) -> CheckResult:
        t = time.monotonic()
        try:
            r = fn()
        except BreakfixError as exc:
            r = CheckResult(component, kind, "fail", str(exc))
        except Exception as exc:  # noqa: BLE001 - a check that cannot run is a failed check, with the reason
            line = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ''}"
            r = CheckResult(component, kind, "fail", f"check could not run: {line}")
        r.seconds = time.monotonic() - t
        if self.reporter is not None:
            self.reporter.timing(f"check {r.id}", r.seconds)
        return r

    def diagnose(self, results: list[CheckResult]) -> tuple[list[Finding], list[str]]:
        """Root causes first: each with the changed line (node files against their baseline), the
        proof (its own words since its current container or process started, how its container
        ended, the kubelet's reason, the probe that failed) and, as a bonus, the catalog fault whose
        edits give exactly that change. The rest is "blocked by". When every check passes, a changed
        line is a warning (role "warn")."""
        failing = {r.part for r in results if r.failed}
        kubelet = unit_journal(self.node, "kubelet")
        journal = "\n".join(kubelet.all)
        views = {c: node_component(self.node, self.node_name, c, journal) for c in STATIC_COMPONENTS} \
            if failing else {}
        # A static pod the kubelet no longer even tries to run (no ready sandbox, no container, and
        # not one journal record about it since the kubelet last started): the kubelet is where it
        # breaks, not the component.
        since = kubelet.text()
        orphans = [c for c, v in views.items() if c in failing and v.listed and not v.running
                   and v.sandbox_state != "SANDBOX_READY" and v.pod not in since]
        if orphans:
            failing.add("kubelet")
        base, notes = self._baselines or read_baselines(self.node, self.kube if self.api_ok else None)
        changed: dict[str, list] = {}
        files = self.node.read_many(list(base))
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
                f.changed.extend(self._worker_changes())
        try:   # the faults `breakfix break` set up on this node name the catalog match first
            journaled = frozenset(e.fault for e in Journal(self.node).entries())
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

    def _worker_changes(self) -> list:
        """What changed in each graded worker's kubelet files (its kubeconfig, config.yaml, flags)
        against the backup `breakfix break` or `lab setup` left on that worker; kubeadm's renderings
        are the control plane's, so a worker is compared with its own backups only."""
        from .baseline import DIAGNOSED_FILES
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

    def _read(self, path: str) -> bytes | None:
        """A file a kubeconfig names, as the node has it (None: not there); read once a run."""
        if path not in self._files:
            try:
                self._files.update(self.node.read_many([path]))
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
            if self.api_ok:
                try:
                    v = container_view(self.kube.pod(f"{part}-{self.node_name}"))
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
            lines.append(self._kubelet_seen().text())
            said_something = said_something or self._kubelet_state != "active"
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

    # --- static pods ---------------------------------------------------------------------------
    def check_manifest(self, comp: str) -> CheckResult:
        path = f"{MANIFEST_DIR}/{comp}.yaml"
        r = self.node.run(f"cat {shlex.quote(path)}")
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
                images[img] = self.node.crictl(f"inspecti -o json {shlex.quote(img)} >/dev/null").ok
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
        out = self.node.check(cmd)
        return {ln[2:] for ln in out.splitlines() if ln.startswith("Y ")}

    def check_pod(self, comp: str) -> CheckResult:
        note, mirror_missing = "", False
        if self.api_ok:
            from kubernetes.client.exceptions import ApiException
            try:
                return self._pod_api(comp)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                mirror_missing = True     # a running container the API has no mirror pod of is not Ready
                note = f"mirror pod kube-system/{comp}-{self.node_name} not found in the API (the kubelet is not running it)\n"
            except Exception as exc:  # noqa: BLE001 - the API went away during the run: look on the node
                note = f"API server: {type(exc).__name__}; graded from the node\n"
        r = self._pod_node(comp)
        if note:
            r.evidence = note + r.evidence
            if r.passed and mirror_missing:
                r.status = "fail"
        return r

    def _pod_api(self, comp: str) -> CheckResult:
        pod_name = f"{comp}-{self.node_name}"
        v = self._ready_once_started(pod_name, container_view(self.kube.pod(pod_name)))
        if v.ready and v.running:
            return CheckResult(comp, "pod_ready", "pass", v.line(), source="api")
        lines = [v.line()]
        if v.waiting_message:
            lines.append(f"waiting message: {v.waiting_message.strip()[:400]}")
        log, which = "", ""
        for previous in (True, False):
            try:
                log = self.kube.logs(pod_name, previous=previous, tail=200) or ""
            except Exception:  # noqa: BLE001 - no such container (yet)
                log = ""
            if log.strip():
                which = "previous log" if previous else "log"
                break
        if log.strip():
            lines.append(f"{which} tail:\n{_tail(log, 6)}")
        else:
            nv = self._pod_node(comp)
            lines.append("on the node: " + nv.evidence)
        return CheckResult(comp, "pod_ready", "fail", "\n".join(lines), source="api")

    def _ready_once_started(self, pod_name: str, v, now=time.time):
        """A container that runs but has just started is not Ready yet because its startup probe has
        not run: wait until it is Ready, stops running, or READY_GRACE_S after its start has passed
        (a fix checked at once is graded on the started component, never passed before it is Ready)."""
        if v.ready or not v.running or v.started_at is None or now() - v.started_at >= READY_GRACE_S:
            return v
        seen = [v]

        def ready() -> Observation:
            seen[0] = container_view(self.kube.pod(pod_name))
            return Observation(seen[0].ready or not seen[0].running, seen[0].line())
        try:
            wait_until(ready, f"{pod_name} Ready after its start", v.started_at + READY_GRACE_S - now(), interval=1)
        except WaitTimeout:
            pass          # graded as it is now: running, not Ready
        return seen[0]

    def _pod_node(self, comp: str) -> CheckResult:
        v = node_component(self.node, self.node_name, comp)
        if not v.listed:
            return CheckResult(comp, "pod_ready", "fail", v.problem or "crictl failed")
        if v.running:
            up = (int(self.node.check("date +%s%N").strip()) - v.created_ns) / 1e9
            # Without the API there is no Ready flag: the kubelet logs every failing probe, so a
            # container that runs yet fails its probes in the last 30 s is not Ready.
            failing = "\n".join(probe_failures(self.node, v.pod, since="-30s")[-3:]).strip()
            if up >= MIN_UPTIME_S and not failing:
                return CheckResult(comp, "pod_ready", "pass", f"{v.line()} running for {up:.0f}s, no failing probes "
                                                              f"in the kubelet's journal")
            ev = f"{v.line()} running for {up:.0f}s" + (f"\nkubelet: its probes fail:\n{failing}" if failing
                                                        else " (too short to count as up)")
            return CheckResult(comp, "pod_ready", "fail", ev)
        ev = "\n".join([v.line()] + (["kubelet journal:\n" + "\n".join(v.kubelet_lines)] if v.kubelet_lines else [])
                       + ([f"log tail:\n{_tail(v.log, 6)}"] if v.log else []))
        return CheckResult(comp, "pod_ready", "fail", ev)

    # --- kubelet and nodes ---------------------------------------------------------------------
    def _kubelet_seen(self) -> Observation:
        u = kubelet_unit(self.node)
        self._kubelet_state = u.state
        return Observation(u.state == "active" and u.up >= MIN_UPTIME_S,
                           f"kubelet is {u.state} ({u.sub}, result={u.result}, restarts={u.restarts}, up {u.up:.0f}s)")

    def check_kubelet(self) -> CheckResult:
        # A kubelet that restarts in a loop is "active" for a moment each time: it has to stay up.
        obs = self._kubelet_seen()
        if not obs.ok and self._kubelet_state == "active":
            try:
                obs = wait_until(self._kubelet_seen, "kubelet up", MIN_UPTIME_S + 10, interval=2)
            except Exception:  # noqa: BLE001 - judged on the last observation below
                obs = self._kubelet_seen()
        if obs.ok:
            return CheckResult("kubelet", "kubelet_active", "pass", obs.text())
        j = self.node.journal("kubelet", lines=200)
        errs = [ln for ln in j.splitlines() if _KLOG_ERR.search(ln)]
        ev = obs.text() + ("\nkubelet journal:\n" + _tail("\n".join(errs), 5) if errs else "")
        return CheckResult("kubelet", "kubelet_active", "fail", ev)

    def check_worker_kubelet(self, name: str, node: Node | None) -> CheckResult:
        """A worker's kubelet: its unit active and up (a kubelet restarting in a loop is active for a
        moment each time) and its Node Ready. Failing: its own error line since it started."""
        if node is None:
            return CheckResult(f"kubelet on {name}", "worker_kubelet", "error",
                               f"node {name} is not reachable from here (only a kind cluster's nodes are)")

        last = [kubelet_unit(node)]

        def seen() -> Observation:
            u = last[0] = kubelet_unit(node)
            return Observation(u.state == "active" and u.up >= MIN_UPTIME_S,
                               f"kubelet on {name} is {u.state} ({u.sub}, restarts={u.restarts}, up {u.up:.0f}s)")
        obs = seen()
        if not obs.ok and last[0].state == "active":    # up too short: a restart loop, or just started
            try:
                obs = wait_until(seen, f"kubelet on {name} up", MIN_UPTIME_S + 10, interval=2)
            except Exception:  # noqa: BLE001 - judged on the last observation below
                obs = seen()
        lines, ok = [obs.text()], obs.ok
        if self.api_ok:
            ready, text = self.kube.node_ready(name)
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
        if not self.api_ok or not self.probe:
            return []
        from ..probes import ensure_namespace, pod_probes
        created: list[str] = []
        t = min(self.probe_timeout, 20.0) if down else self.probe_timeout
        try:
            ensure_namespace(self.kube, created)
            probes = pod_probes(self.kube, node, self.probe_image or default_probe_image(self.node), t, created,
                                node_name=name)
        except Exception as exc:  # noqa: BLE001 - the probe could not run: proves nothing
            return [CheckResult(f"kubelet on {name}", "pod-started", "error", f"probe could not run: {exc}",
                                source="api", group="workers")]
        self.created.extend(created)
        return [CheckResult(f"kubelet on {name}", p.name, p.status, p.seen, source=p.source, seconds=p.seconds,
                            group="workers") for p in probes]

    def check_nodes(self) -> CheckResult:
        if not self.api_ok:
            return CheckResult("kubelet", "nodes_ready", "fail", f"API server not reachable: {self.api_error}",
                               source="api")
        nodes = self.kube.core.list_node(_request_timeout=10).items
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
        j = self.node.journal("kubelet", lines=200)
        errs = [ln for ln in j.splitlines() if _KLOG_ERR.search(ln)]
        ev = "\n".join(lines) + ("\nkubelet journal:\n" + _tail("\n".join(errs), 5) if errs else "")
        return CheckResult("kubelet", "nodes_ready", "fail", ev, source="api")

    # --- workloads -----------------------------------------------------------------------------
    def check_app(self, cp_down: bool = False) -> CheckResult:
        want = self.replicas
        if want is None:
            return CheckResult("app", "app_replicas", "skip", "skipped (no --replicas given)", source="api")
        if not self.api_ok:
            return CheckResult("app", "app_replicas", "fail", f"API server not reachable: {self.api_error}",
                               source="api")
        from kubernetes.client.exceptions import ApiException

        def seen() -> Observation:
            return deployment_ready(self.kube.deployment(self.app_name, self.namespace), want)
        try:
            obs = seen()
        except ApiException as exc:
            if exc.status == 404:
                return CheckResult("app", "app_replicas", "fail",
                                   f"deployment {self.namespace}/{self.app_name} not found", source="api")
            raise
        if obs.ok:
            return CheckResult("app", "app_replicas", "pass", obs.text(), source="api")
        d = self.kube.deployment(self.app_name, self.namespace)
        if (d.spec.replicas or 0) == want:   # asked for the right count: give the rollout a moment
            try:
                obs = wait_until(seen, f"{self.app_name} at {want} Ready replicas",
                                 min(self.app_timeout, 10.0) if cp_down else self.app_timeout, interval=0.5)
                return CheckResult("app", "app_replicas", "pass", obs.text(), source="api")
            except Exception as exc:  # noqa: BLE001
                obs = Observation(False, getattr(exc, "last_seen", str(exc)))
        pods = self.kube.pods(self.namespace, f"app={self.app_name}")
        phases = ", ".join(f"{p.metadata.name}={p.status.phase}/{p.spec.node_name or 'unscheduled'}" for p in pods)
        ev = obs.text() + f"\npods: {phases or 'none'}"
        return CheckResult("app", "app_replicas", "fail", ev, source="api")

    # --- for `breakfix break`: is the component visibly down? ----------------------------------
    def component_down(self, comp: str, exclude_uid: str | None = None, since_ns: int | None = None) -> Observation:
        """Observation(ok=True once COMPONENT's health checks fail and the node shows why: an ended
        container, its error line or the kubelet's reason; for the kubelet, its unit or the node)."""
        if comp == "kubelet":   # the kubelet itself, the node it reports, or the static pods it runs
            rs = [self.check_kubelet()]
            if rs[0].passed and self.api_ok:
                try:
                    rs.append(self.check_nodes())
                except Exception:  # noqa: BLE001 - the API went away since: the static pods tell
                    pass
            if not any(r.failed for r in rs):   # the static pods it runs (a worker has none)
                rs += [self.check_pod(c) for c in STATIC_COMPONENTS if self.node.exists(f"{MANIFEST_DIR}/{c}.yaml")]
            down = [r for r in rs if r.failed]
            return Observation(bool(down), "\n".join(r.evidence for r in down or rs))
        r = self.check_pod(comp)
        if r.passed:
            return Observation(False, r.evidence)
        v = node_component(self.node, self.node_name, comp, exclude_uid=exclude_uid, since_ns=since_ns)
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
