"""The lab's settle part: how the control plane's health is seen (its static pods, the node, the
API, kube-system's pods), the wait until it is settled and stays so, the stability window after a fix
(overlapped with the verification where that is safe), and the kubelet restart that clears a crash
back-off a fault left behind."""
from __future__ import annotations

import time
from collections.abc import Callable

from . import symptoms, waits
from .kube import STATIC_COMPONENTS, container_view
from .shapes import CONTROL_PLANE_LABEL
from .targets_spec import COMPONENTS, WORKLOADS
from .waits import Observation


class Settle:
    """Settle: the control plane Ready and stable (a part of Lab: it uses the lab's kube, node,
    node_name, reporter, poll, dwell and t(); its own state is what was last seen settled)."""

    @property
    def static_components(self) -> tuple[str, ...]:
        """The control-plane static pods this node runs: every one on a control-plane node (the
        default while the API cannot tell), none on a worker."""
        if getattr(self, "_static", None) is None:
            try:
                labels = self.kube.node(self.node_name).metadata.labels or {}
            except Exception:  # noqa: BLE001 - not known yet: the default node is a control plane
                return STATIC_COMPONENTS
            self._static = STATIC_COMPONENTS if CONTROL_PLANE_LABEL in labels else ()
        return self._static

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
        if health == "workload":
            st = symptoms.workload_status(self.kube, WORKLOADS[component].ref)
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
        for c in self.static_components:
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
        if not self.kubelet_restart_allowed():
            return False
        stuck = [c for c in self.static_components if self.component_view(c).waiting_reason == "CrashLoopBackOff"]
        if not stuck or not self.kube.readyz()[0]:
            return False
        return self.restart_kubelet_for_backoff(stuck, f"in CrashLoopBackOff after the fix:\n{seen}")

    def kubelet_restart_allowed(self) -> bool:
        """Whether restart_kubelet_for_backoff would restart the kubelet now (once a minute at most)."""
        return time.monotonic() - self._last_backoff_clear >= 60

    def restart_kubelet_for_backoff(self, stuck: list[str], why: str, node=None, report: bool = True,
                                    again: bool = False) -> bool:
        """Restart the kubelet to clear the crash back-off of STUCK (components), at most once a
        minute whoever asks (clear_crash_backoff from the pod statuses, the driven pace from the
        node's containers) unless AGAIN (the driven pace's restart at the end of a fix); said in the
        report with WHY unless not REPORT (a thread of the driven pace says it in its own report).
        NODE: the node connection to use (the driven pace's thread has its own). False when it was
        not done."""
        if not stuck or not (again or self.kubelet_restart_allowed()):
            return False
        self._last_backoff_clear = time.monotonic()
        (node or self.node).systemctl("restart", "kubelet")
        if report:
            self.reporter.attach("kubelet restarted to clear crash back-off", f"{', '.join(stuck)} {why}")
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
