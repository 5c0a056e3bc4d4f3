"""The lab's verify part: the `app` deployment and probe pods: the healthy control loop's measured
reaction (the calibrated hold), `app` at a replica count, a new pod scheduled and running, and the
check after a fix."""
from __future__ import annotations

import contextlib
import json
import time

from . import probes
from .catalog import Fault
from .waits import MIN_SECONDS, Observation, explicit_timeout, wait_until
from .lab_inject import Injection


# A "nothing happens" hold lasts this many times the healthy control loop's measured reaction
# (scale -> pod created -> bound to a node), never less than MIN_SECONDS["hold"] nor more than the
# hold timeout (calibrate()).
HOLD_FACTOR = 10.0


class Verify:
    """Verify: the app scales and a new pod runs (a part of Lab)."""

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
        self.kube.ensure_deployment(self.app_name, self.app_image, want, self.namespace, node=self.app_node)
        self.wait_app(want)
        if self.app_node:   # pinned: every pod there, the ones a rollout replaced gone
            def placed() -> Observation:
                on = [p.spec.node_name for p in self.kube.pods(self.namespace, f"app={self.app_name}")]
                return Observation(len(on) == want and all(n == self.app_node for n in on),
                                   f"{self.app_name} pods on {on} (want {want} on {self.app_node})")
            wait_until(placed, f"{self.app_name}'s pods on {self.app_node}", self.t("scale"), interval=self.poll)
            self.wait_app(want)
        return want

    def wait_app(self, replicas: int) -> Observation:
        def probe() -> Observation:
            return probes.deployment_ready(self.kube.deployment(self.app_name, self.namespace), replicas)
        with self.reporter.timed("scale->ready", replicas=replicas):
            return wait_until(probe, f"{self.app_name} at {replicas} Ready replicas", self.t("scale"),
                              interval=self.poll)

    def schedule_probe(self, node: str | None = None) -> str:
        """A new pod gets a node (NODE: that one) and runs."""
        return self._wait_probe(self.kube.create_probe_pod(self.probe_image, self.namespace, node=node))

    def _wait_probe(self, name: str) -> str:
        """The probe pod NAME gets a node and runs (a scheduler still serving a crash back-off from
        the fault would hold it Pending for minutes: unstuck)."""
        try:
            def probe() -> Observation:
                return probes.pod_running(self.kube.pod(name, self.namespace))
            seen = wait_until(self.unstuck(probe), f"probe pod {name} Running", self.t("schedule"),
                              interval=self.poll).text()
            with contextlib.suppress(Exception):
                seen += "\n" + probes.pod_timeline(self.kube.pod(name, self.namespace))
            return seen
        finally:
            with contextlib.suppress(Exception):
                self.kube.delete_pod(name, self.namespace)

    def verify(self, fault: Fault, inj: Injection | None = None) -> None:
        """After the fix: a new pod schedules and runs (on the node the fault broke, with
        verify.on_node), and `app` scales (to the target a symptom asked for, or by verify.scale
        replicas), both asked at once; then back to where it was."""
        on = self.node_name if fault.verify_on_node else None
        with self.reporter.step("verify: a pod schedules" + (f" on {on}" if on else "") + " and app scales"):
            base = (inj.context.app_base if inj else None) or self.app_ready_replicas()[0]
            target = (inj.context.scale_target if inj else None) or base + fault.verify_scale
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
