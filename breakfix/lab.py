"""The engine: back up, break, prove it took effect, observe symptoms, restore, verify.
Everything a fault needs comes from its data file; nothing here knows a fault by name."""
from __future__ import annotations

import contextlib
import json
import shlex
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from . import probes, symptoms, waits
from .catalog import Fault
from .diagnostics import describe_pod
from .errors import InfrastructureError, NotRecovered, WaitTimeout
from .view import sandboxes
from .journal import Entry, Journal, JournalError, host_journal
from .killpoints import killpoint
from .kube import STATIC_COMPONENTS, Kube, container_view
from .node import MANIFEST_DIR, WATCHED_PATHS, Node
from .pace import DEFAULT_PACE, Pace
from .report import Reporter
from .runner import deferred_interrupts
from .targets import cluster_of, replay, strategy
from .targets_spec import COMPONENTS
from .waits import MIN_SECONDS, Observation, explicit_timeout, timeout, wait_until

# A "nothing happens" hold lasts this many times the healthy control loop's measured reaction
# (scale -> pod created -> bound to a node), never less than MIN_SECONDS["hold"] nor more than the
# hold timeout (calibrate()).
HOLD_FACTOR = 10.0


@dataclass
class Injection:
    fault: Fault
    path: str | None                  # node file changed (a node-file target kind)
    original: bytes | None
    original_sha: str | None
    mode: str | None
    backup_path: str | None
    entry: Entry | None = None        # the journal entry written before the change
    changed: bool = False             # the node's configuration was touched
    before_uid: str | None = None     # static pod sandbox uid (== config hash) before the edit
    before_invocation: str | None = None
    before_container: str | None = None   # a static pod's running container before a file it reads changed
    since: str | None = None          # node time of the edit (journal window)
    since_ns: int | None = None       # the same, in ns (containers created after the edit)
    started: float = field(default_factory=time.monotonic)
    restored: bool = False
    context: dict = field(default_factory=dict)  # what symptoms set up (scale targets, probe pods)
    new_bytes: bytes | None = None    # what a node-file target kind writes
    wall: float | None = None         # time.time() of the change (events since the fault)
    strategy: object = None           # the target kind (targets.py)


class Lab:
    def __init__(self, kube: Kube, node: Node, node_name: str, reporter: Reporter | None = None,
                 app_name: str = "app", app_image: str = "kube-breakfix/app:v1",
                 probe_image: str | None = None, namespace: str = "default",
                 timeout_scale: float | None = None, poll: float = 0.5, dwell: bool = True,
                 pace: str = DEFAULT_PACE):
        self.kube, self.node, self.node_name = kube, node, node_name
        self.pace = Pace(pace)    # driven | kubelet (pace.py)
        self.poll = poll          # seconds between two observations of an awaited reaction
        self.dwell = dwell        # False: no hold, no stability window (the benchmark's floor)
        self.calibration: dict | None = None
        self._settled: tuple | None = None   # kube-system's fingerprint when last seen settled
        self._fingerprint: tuple | None = None
        self._unconfirmed: tuple | None = None  # Ready once after a fix, window not yet confirmed
        self._last_backoff_clear = -1e9          # monotonic time of the last kubelet restart for it
        self.reporter = reporter or Reporter()
        self.app_name, self.app_image = app_name, app_image
        self.probe_image = probe_image or app_image
        self.namespace = namespace
        self.scale_factor = timeout_scale
        self.journal = Journal(node, kube, host=host_journal(cluster_of(node_name)))
        self._siblings: dict[str, Node | None] = {}   # the cluster's other nodes, by name (node_at)

    def t(self, name: str) -> float:
        return timeout(name, self.scale_factor)

    def node_at(self, name: str) -> Node | None:
        """The node NAME of the cluster (for what a fault breaks per node), or None when the
        transport cannot reach a node by its name."""
        if name == self.node_name:
            return self.node
        if name not in self._siblings:
            self._siblings[name] = self.node.sibling(name)
        return self._siblings[name]

    def hold_for(self, spec: dict, half: bool = False) -> float:
        """How long a "nothing happens" symptom must hold: the fault file's `hold`, else the
        BREAKFIX_TIMEOUT_HOLD override, else the calibrated hold (HOLD_FACTOR x the healthy
        reaction, within [MIN_SECONDS hold, hold timeout]); 0 (one observation) without dwell."""
        if not self.dwell:
            return 0.0
        if spec.get("hold"):
            return float(spec["hold"])
        base = explicit_timeout("hold")
        if base is None:
            base = self.calibration["hold_seconds"] if self.calibration else self.t("hold")
        return max(base / 2 if half else base, MIN_SECONDS["hold"])

    def calibrate(self) -> dict:
        """Measure how fast the healthy control loop reacts, in this run: scale `app` by one and
        time the new pod's creation (the controller manager) and its binding to a node (the
        scheduler), then scale back. A hold of HOLD_FACTOR times that reaction means something;
        the result goes to the report."""
        base = self.ensure_app()
        selector = f"app={self.app_name}"
        before = {p.metadata.uid for p in self.kube.pods(self.namespace, selector)}
        seen: dict[str, float] = {}
        t0 = time.monotonic()
        self.kube.scale(self.app_name, base + 1, self.namespace)

        def probe() -> Observation:
            new = [p for p in self.kube.pods(self.namespace, selector) if p.metadata.uid not in before]
            now = time.monotonic() - t0
            if new:
                seen.setdefault("created", now)
                if new[0].spec.node_name:
                    seen.setdefault("bound", now)
            return Observation("bound" in seen, f"new app pods: {[p.metadata.name for p in new]} {seen}")

        try:
            wait_until(probe, "a scaled app pod created and bound", self.t("scale"), interval=0.05)
        finally:
            self.kube.scale(self.app_name, base, self.namespace)
        self.wait_app(base)
        reaction = seen["bound"]
        hold = min(max(HOLD_FACTOR * reaction, MIN_SECONDS["hold"]), max(self.t("hold"), MIN_SECONDS["hold"]))
        self.calibration = {"pod_created_seconds": round(seen["created"], 3),
                            "pod_bound_seconds": round(reaction, 3), "factor": HOLD_FACTOR,
                            "hold_seconds": round(hold, 2), "hold_floor": MIN_SECONDS["hold"],
                            "hold_ceiling": self.t("hold")}
        self.reporter.attach("calibration: healthy reaction and holds", json.dumps(self.calibration, indent=2),
                             "json")
        return self.calibration

    # --- state views -------------------------------------------------------------------------
    def mirror_pod_name(self, component: str) -> str:
        return f"{component}-{self.node_name}"

    def component_view(self, component: str):
        return container_view(self.kube.pod(self.mirror_pod_name(component)))

    def component_ready(self, component: str) -> Observation:
        """How the component's health is seen (targets_spec.COMPONENTS): its static pod, the node's
        Ready condition, the API's /readyz, or a workload's status (all its pods updated and ready)."""
        health = COMPONENTS.get(component, "node")
        if health == "node":
            ok, seen = self.kube.node_ready(self.node_name)
            return Observation(ok, seen)
        if health == "api":
            return Observation(*self.kube.readyz())
        if health.startswith(("deployment:", "daemonset:")):
            st = symptoms.workload_status(self.kube, health.replace(":", "/", 1))
            return Observation(st["healthy"], st["line"])
        v = self.component_view(component)
        return Observation(v.ready and v.running, v.line())

    def control_plane_ready(self) -> Observation:
        lines = []
        ok, seen = self.kube.readyz()
        lines.append(seen)
        ready, seen = self.kube.node_ready(self.node_name)
        ok &= ready
        lines.append(seen)
        for c in STATIC_COMPONENTS:
            v = self.component_view(c)
            ok &= self.pace.static_works(v)
            lines.append(v.line())
        pods = self.kube.pods("kube-system")
        fingerprint = [(self.node_name, ready)]
        for p in pods:
            cs = p.status.container_statuses or []
            fingerprint.append((p.metadata.name, p.metadata.uid, tuple((c.name, c.restart_count,
                                                                        self.pace.container_mark(c)) for c in cs)))
        for p in pods:
            if p.metadata.name.startswith(tuple(f"{c}-" for c in STATIC_COMPONENTS)):
                continue
            cs = p.status.container_statuses or []
            pready = p.status.phase == "Running" and cs and all(c.ready for c in cs)
            ok &= bool(pready)
            if not pready:
                lines.append(f"{p.metadata.name}: phase={p.status.phase} not ready")
        self._fingerprint = tuple(sorted(fingerprint, key=repr)) if ok else None
        return Observation(ok, "; ".join(lines))

    def wait_settled(self, what: str = "control plane Ready", clear_backoff: bool = True,
                     window: bool = True, reuse: bool = False) -> Observation:
        """Node Ready, every static pod and every kube-system pod Ready, and staying so for the
        `stable` window. When the cluster was seen settled before and nothing changed since (every
        kube-system pod the same uid, restart counts and readiness: a crash in between would show),
        it has been stable all that time: no new window is needed.
        clear_backoff: clear a crash back-off the fault left (clear_crash_backoff) while waiting.
        window=False: Ready once; the caller confirms the window later (confirm_stable).
        reuse: only before a fault. After a fix the API's view may be stale (a kubelet that was
        stopped has not updated any pod status yet): an unchanged fingerprint proves nothing there."""
        if reuse and self.dwell and self._settled is not None:
            try:
                obs = self.control_plane_ready()
            except Exception:  # noqa: BLE001 - unknown is not settled: wait below
                obs = Observation(False, "")
            if obs.ok and self._fingerprint == self._settled[0]:
                self.reporter.attach(f"{what}: unchanged since last settled",
                                     f"settled {time.monotonic() - self._settled[1]:.1f} s ago; the same pods, "
                                     f"restart counts and readiness now:\n" + obs.text().replace("; ", "\n"))
                return obs
        def probe() -> Observation:
            obs = self.control_plane_ready()
            if clear_backoff and not obs.ok:
                self.clear_crash_backoff(obs.text())
            return obs

        with self.reporter.timed("settle"):
            stable = self.t("stable") if self.dwell and window else 0.0
            obs = waits.wait_stable(probe, what, self.t("settle"), stable, interval=max(self.poll, 1.0))
        if self._fingerprint is not None:
            if window:
                self._settled = (self._fingerprint, time.monotonic())
            else:
                self._unconfirmed = (self._fingerprint, time.monotonic())
        return obs

    def clear_crash_backoff(self, seen: str) -> bool:
        """After a fix, a control-plane container still in CrashLoopBackOff while the API answers is
        serving the kubelet's back-off from crashes during the fault (e.g. the scheduler losing its
        lease while the API server was down). The kubelet keys that back-off on the pod uid,
        container name and spec hash, and the restored pod has its original uid, so the back-off (up
        to 5 minutes) applies to it; only a kubelet restart clears it. Done as soon as it is seen, at
        most once a minute, and said in the report. SEEN: what the caller was waiting on."""
        if time.monotonic() - self._last_backoff_clear < 60:
            return False
        stuck = [c for c in STATIC_COMPONENTS if self.component_view(c).waiting_reason == "CrashLoopBackOff"]
        if not stuck or not self.kube.readyz()[0]:
            return False
        self._last_backoff_clear = time.monotonic()
        self.node.systemctl("restart", "kubelet")
        self.reporter.attach("kubelet restarted to clear crash back-off",
                             f"{', '.join(stuck)} in CrashLoopBackOff after the fix:\n{seen}")
        return True

    def unstuck(self, probe: Callable[[], Observation]) -> Callable[[], Observation]:
        """PROBE of a wait after a fix; while it is not ok, a look every 5 s (the first after 5 s: a
        status just after the restore may still be the broken pod's) for a crash back-off the fault
        left behind, cleared by clear_crash_backoff. The kubelet keeps that back-off per pod uid, so
        the original pod's grows over a whole run (every API outage crashes its scheduler and
        controller manager): a bench run saw the restored controller manager wait 5 min for it."""
        next_look = time.monotonic() + 5

        def wrapped() -> Observation:
            nonlocal next_look
            obs = probe()
            if not obs.ok and time.monotonic() >= next_look:
                next_look = time.monotonic() + 5
                self.clear_crash_backoff(obs.text())
            return obs
        return wrapped

    def confirm_stable(self) -> None:
        """The stability window after a fix, overlapped with the verification that follows it: the
        control plane must stay exactly as it was when it came back (the same kube-system pods,
        restart counts and readiness) until `stable` seconds have passed since then. If anything
        changed meanwhile, a full settle (window included) follows.
        When it came back exactly as it was last seen settled before the fault (no kube-system pod
        replaced, restarted or turned unready: the fault never reached the control plane's pods) and
        is still so now, after the verification, those containers are the ones that already stood a
        whole window: one more look instead of a new window. Only here, where the caller overlaps the
        window (not after an API outage or a kubelet fix, whose pod statuses may still be stale)."""
        pending, self._unconfirmed = self._unconfirmed, None
        if pending is None or not self.dwell:
            return
        fp, since = pending
        if self._settled is not None and fp == self._settled[0]:
            try:
                now = self.control_plane_ready()
            except Exception:  # noqa: BLE001 - unknown proves nothing: the window below
                now = Observation(False, "")
            if now.ok and self._fingerprint == fp:
                self.reporter.attach("control plane untouched by the fault",
                                     f"the same kube-system pods, restart counts and readiness as when it was "
                                     f"settled {time.monotonic() - self._settled[1]:.1f} s ago (window "
                                     f"{self.t('stable'):g} s), at the fix and now:\n" + now.text().replace("; ", "\n"))
                return

        def same() -> Observation:
            obs = self.control_plane_ready()
            return Observation(obs.ok and self._fingerprint == fp, obs.text())

        left = self.t("stable") - (time.monotonic() - since)
        try:
            obs = waits.hold(same, "control plane unchanged since it came back", max(left, 0.0), interval=self.poll)
        except Exception as exc:  # noqa: BLE001 - changed or unreadable: settle again, window included
            self.reporter.attach("the control plane changed while verifying", str(exc))
            self.wait_settled("control plane Ready after the fix (changed while verifying)")
            return
        self._settled = (fp, since)
        self.reporter.attach("control plane stayed as it came back",
                             f"{time.monotonic() - since:.1f} s since it came back (window {self.t('stable'):g} s):\n"
                             + obs.text().replace("; ", "\n"))

    def sandbox_uid(self, component: str) -> str | None:
        """The uid of the component's newest ready pod sandbox on the node (the node's view,
        view.py): for a static pod the hash of its manifest, so it changes exactly when
        the kubelet runs the edited pod. None when there is none or crictl failed."""
        sbs = sandboxes(self.node, self.node_name, component) or {}
        ready = [uid for uid, state in sbs.items() if state == "SANDBOX_READY"]
        return ready[-1] if ready else None

    def invocation_id(self, unit: str) -> str:
        return self.node.check(f"systemctl show -p InvocationID --value {shlex.quote(unit)}").strip()

    def intact(self, baseline: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """(problems, sha256 now): every watched node file against BASELINE (sha256 by path, taken
        at the start of the run) and nothing but manifests in the manifests directory."""
        after = self.node.checksums(WATCHED_PATHS)
        problems = [f"differs from before the run: {p}" for p in sorted(set(baseline) | set(after))
                    if baseline.get(p) != after.get(p)]
        stray = self.node.run(f"ls -A {MANIFEST_DIR} | grep -v '\\.yaml$'").stdout.split()
        problems += [f"stray file in {MANIFEST_DIR}: {n}" for n in stray]
        return problems, after

    # --- backups ---------------------------------------------------------------------------
    def leftovers(self) -> list[Entry]:
        """Journal entries of injections that were never restored (a run killed hard, `breakfix
        break`). Raises when the journal cannot be read or an entry is corrupt."""
        return self.journal.entries()

    def restore_leftovers(self, wait: bool = True) -> list[str]:
        """Put back everything a journal on the node names, then clean what a write killed
        mid-way left; returns the faults restored. An entry that cannot be replayed raises
        JournalError and stays on the node."""
        done = []
        for e in self.leftovers():
            with deferred_interrupts():
                replay(self.journal, e)
            done.append(e.fault)
            self.reporter.attach("restored a leftover fault", json.dumps(asdict(e), indent=2), "json")
        swept = self.journal.sweep()
        if swept:
            self.reporter.attach("removed stale kube-breakfix files", "\n".join(swept))
        if done and wait:
            self.wait_settled("control plane Ready after restoring leftovers")
        return done

    # --- break -------------------------------------------------------------------------------
    def inject(self, fault: Fault, register) -> Injection:
        """Back up, journal, register the restore (REGISTER(callable)), then break. Returns the
        injection once the fault has provably taken effect. What each step is for the fault's
        target kind is that kind's strategy (targets.py); the order is the same for every kind."""
        strat = strategy(fault.target.kind)
        inj = Injection(fault, None, None, None, None, None, strategy=strat)
        with self.reporter.step(f"break: {fault.title}"):
            # What proves the change took effect is read before it: without it, proof is impossible.
            strat.prepare(self, inj)
            # Backup and journal (on the node, outside the manifests dir; on the host for what is no
            # node's) before anything changes: a run killed with -9 is still restored by the next
            # run or by `breakfix restore`.
            inj.entry = self.journal.record(strat.entry(self, inj))
            inj.backup_path = inj.entry.backup
            inj.since = self.node.now()
            inj.since_ns = int(self.node.check("date +%s%N").strip())

            def undo(wait: bool = True) -> None:
                self.restore(inj, wait=wait)
            undo.injection = inj
            register(undo)

            symptoms.start_monitors(self, inj)      # what a symptom measures from before the change
            inj.changed = True
            inj.wall = time.time()
            strat.apply(self, inj)
            inj.started = time.monotonic()
            with self.pace.drive(self, inj, "break"):
                self._took_effect(inj)
            self.reporter.timing("inject->took effect", time.monotonic() - inj.started, fault=fault.id)
        return inj

    def _took_effect(self, inj: Injection) -> None:
        """Wait for positive proof that the change is in force (the target kind's own proof). A
        failed probe, an empty listing or an unknown state is never taken as proof."""
        (inj.strategy or strategy(inj.fault.target.kind)).took_effect(self, inj)

    # --- observe -----------------------------------------------------------------------------
    def observe(self, inj: Injection) -> dict[str, str]:
        killpoint("during-observe")
        evidence = {}
        with self.reporter.step(f"observe: {inj.fault.summary}"):
            for spec in inj.fault.symptoms:
                label = spec.get("description") or spec["kind"]
                with self.reporter.step(f"symptom: {label}"):
                    ev = symptoms.check(self, inj, spec)
                    self.reporter.attach(f"evidence: {spec['kind']}", ev)
                    evidence[spec["kind"]] = ev
            self.reporter.timing("inject->symptoms", time.monotonic() - inj.started, fault=inj.fault.id)
            if self.dwell:   # the benchmark's floor collects nothing beyond the symptoms
                self._attach_views(inj)
        return evidence

    def _attach_views(self, inj: Injection) -> None:
        """What a human would look at: `describe` and the previous log when the API answers; the
        node's own view (crictl, kubelet journal) when it does not or the kubelet is the fault."""
        f = inj.fault
        if not f.api_down and f.component in STATIC_COMPONENTS:
            name = self.mirror_pod_name(f.component)
            with contextlib.suppress(Exception):
                self.reporter.attach(f"describe pod {name}", describe_pod(self.kube, name))
            with contextlib.suppress(Exception):
                self.reporter.attach(f"previous log of {f.component}", self.kube.logs(name, previous=True, tail=60))
        if f.api_down or f.component == "kubelet":
            with contextlib.suppress(Exception):
                self.reporter.attach("node: crictl ps -a", self.node.crictl("ps -a").stdout)
            with contextlib.suppress(Exception):
                self.reporter.attach("node: journalctl -u kubelet (since the fault)",
                                     self.node.journal("kubelet", since=inj.since, lines=60))

    # --- fix ---------------------------------------------------------------------------------
    def restore(self, inj: Injection, wait: bool = True, window: bool = True) -> None:
        """Put the node back exactly as it was (the journal's replay: the same code that repairs a
        killed run), then wait until the component is Ready again. Idempotent; runs on pass,
        fail, error and Ctrl-C (registered before the change)."""
        if inj.restored or inj.entry is None:
            return
        f = inj.fault
        t0 = time.monotonic()
        with deferred_interrupts(), self.reporter.step(f"fix: restore {inj.entry.what()}"):
            try:
                replay(self.journal, inj.entry)
            except JournalError as exc:
                raise NotRecovered(f.id, str(exc)) from None
            inj.restored = True
            symptoms.stop_monitors(inj)             # nothing left probing the API for a fault put back
            for name in inj.context.get("probe_pods", []):
                with contextlib.suppress(Exception):
                    self.kube.delete_pod(name, self.namespace)
            for name in inj.context.get("probe_services", []):
                with contextlib.suppress(Exception):
                    self.kube.delete_service(name, self.namespace)
        if wait:
            self.wait_recovered(inj, window)
            self.reporter.timing("fix->recovered", time.monotonic() - t0, fault=f.id)

    def wait_recovered(self, inj: Injection, window: bool = True) -> None:
        """The restored component Ready, then the whole control plane; with window=False Ready
        once, its stability window confirmed by confirm_stable() after the verification."""
        f = inj.fault
        with self.reporter.step(f"verify: {f.component} Ready again"):
            try:
                with self.pace.drive(self, inj, "fix"):
                    (inj.strategy or strategy(f.target.kind)).recovered(self, inj)
                    wait_until(self.unstuck(self.pace.recovered_probe(self, f.component)), f"{f.component} works",
                               self.t("recover"), interval=self.poll)
                obs = self.wait_settled("control plane Ready after the fix", clear_backoff=True, window=window)
            except WaitTimeout as exc:
                raise NotRecovered(f.id, str(exc)) from None
            self.reporter.attach("control plane after the fix", obs.text().replace("; ", "\n"))

    # --- verify ------------------------------------------------------------------------------
    def app_ready_replicas(self) -> tuple[int, int, str]:
        d = self.kube.deployment(self.app_name, self.namespace)
        want = d.spec.replicas or 0
        ready = d.status.ready_replicas or 0
        return want, ready, (f"deployment {self.app_name}: spec={want} replicas={d.status.replicas or 0} "
                             f"ready={ready} available={d.status.available_replicas or 0}")

    def ensure_app(self, replicas: int | None = None) -> int:
        """The `app` deployment exists and all its replicas are Ready; returns the count."""
        try:
            want, _, _ = self.app_ready_replicas()
        except Exception:  # noqa: BLE001 - not there yet
            want = 1
        if replicas is not None:
            want = replicas
        self.kube.ensure_deployment(self.app_name, self.app_image, want, self.namespace)
        self.wait_app(want)
        return want

    def wait_app(self, replicas: int) -> Observation:
        def probe() -> Observation:
            return probes.deployment_ready(self.kube.deployment(self.app_name, self.namespace), replicas)
        with self.reporter.timed("scale->ready", replicas=replicas):
            return wait_until(probe, f"{self.app_name} at {replicas} Ready replicas", self.t("scale"),
                              interval=self.poll)

    def schedule_probe(self) -> str:
        """A new pod gets a node and runs."""
        return self._wait_probe(self.kube.create_probe_pod(self.probe_image, self.namespace))

    def _wait_probe(self, name: str) -> str:
        """The probe pod NAME gets a node and runs (a scheduler still serving a crash back-off from
        the fault would hold it Pending for minutes: unstuck)."""
        try:
            def probe() -> Observation:
                return probes.pod_running(self.kube.pod(name, self.namespace))
            return wait_until(self.unstuck(probe), f"probe pod {name} Running", self.t("schedule"),
                              interval=self.poll).text()
        finally:
            with contextlib.suppress(Exception):
                self.kube.delete_pod(name, self.namespace)

    def verify(self, fault: Fault, inj: Injection | None = None) -> None:
        """After the fix: a new pod schedules and runs (on the node the fault broke, with
        verify.on_node), and `app` scales (to the target a symptom asked for, or by verify.scale
        replicas), both asked at once; then back to where it was."""
        on = self.node_name if fault.verify_on_node else None
        with self.reporter.step("verify: a pod schedules" + (f" on {on}" if on else "") + " and app scales"):
            base = (inj.context.get("app_base") if inj else None) or self.app_ready_replicas()[0]
            target = (inj.context.get("scale_target") if inj else None) or base + fault.verify_scale
            name = self.kube.create_probe_pod(self.probe_image, self.namespace, node=on)
            try:
                self.kube.scale(self.app_name, target, self.namespace)
            except Exception:
                with contextlib.suppress(Exception):
                    self.kube.delete_pod(name, self.namespace)
                raise
            self.reporter.attach("probe pod", self._wait_probe(name))
            obs = self.wait_app(target)
            self.reporter.attach("app scaled", obs.text())
            if target != base:
                self.kube.scale(self.app_name, base, self.namespace)
                self.wait_app(base)

    @staticmethod
    def full_window_after_fix(fault: Fault) -> bool:
        """Whether the stability window after FAULT's fix is waited in full instead of overlapped
        with the verification (confirm_stable). A fix that (re)starts the kubelet: the pod statuses
        in the API are the old kubelet's until the new one resyncs them. After an API outage: the
        scheduler and controller manager lost their leases while the API was away and may restart
        after being seen Ready once (a full run saw the verification's pod stay Pending 90 s after
        apiserver-unknown-flag)."""
        kubelet = fault.target.kind in ("file", "service") and getattr(fault.target, "unit", None) == "kubelet"
        return kubelet or fault.api_down


def require_static_pod_manifest(node: Node, component: str) -> None:
    if component in STATIC_COMPONENTS and not node.exists(f"{MANIFEST_DIR}/{component}.yaml"):
        raise InfrastructureError(f"node {node.spec}: {MANIFEST_DIR}/{component}.yaml not found")
