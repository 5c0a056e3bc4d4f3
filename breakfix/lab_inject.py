"""The lab's break part: back up, journal, register the restore, change the node the fault's target kind's way
(targets.py), and wait for positive proof that the change is in force. `Injection` is what the break
hands to the steps after it."""
from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from . import symptoms
from .catalog import Fault
from .view import sandboxes
from .journal import Entry
from .interrupts import deferred_interrupts
from .targets import strategy

if TYPE_CHECKING:
    from .symptoms.members_ready import Member


class Monitor(Protocol):
    """What a symptom kind started before the change to measure from there (symptoms.start_monitors)."""

    def stop(self) -> None: ...


@dataclass
class InjectionContext:
    """What the steps of one injection leave for the later ones: the target kind's prepare for its
    change and proof, the symptoms for the restore (what they created) and the verification (the
    replicas they scaled to). Every field starts empty: a step that did not run left nothing."""
    # symptoms (scale_stuck, pod_not_scheduled): the app's ready replicas before the fault, and the
    # replicas it was scaled to; the verification scales from there (None: it reads them itself)
    app_base: int | None = None
    scale_target: int | None = None
    # symptoms: probe pods and services they created, deleted when the fault is put back
    probe_pods: list[str] = field(default_factory=list)
    probe_services: list[str] = field(default_factory=list)
    # api_object: {object ref: {JSON pointer: value}}, the original fields and the patched ones, and the
    # generation of the rollout's workload after its patch (its observedGeneration proves the rollout)
    object_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    object_new: dict[str, dict[str, Any]] = field(default_factory=dict)
    rollout_generation: int | None = None
    # host_container: the host's container it stops (its full name)
    container: str | None = None
    # members_ready: the control-plane members read before the change, or why they could not be
    # (None: not read yet)
    members: list[Member] | str | None = None
    # the monitors the symptom kinds started before the change, by symptom kind (api_available)
    monitors: dict[str, Monitor] = field(default_factory=dict)


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
    context: InjectionContext = field(default_factory=InjectionContext)  # what the steps leave for the later ones
    new_bytes: bytes | None = None    # what a node-file target kind writes
    wall: float | None = None         # time.time() of the change (events since the fault)
    strategy: object = None           # the target kind (targets.py)


class Inject:
    """Inject: one fault's change, proven in force (a part of Lab)."""

    def sandbox_uid(self, component: str) -> str | None:
        """The uid of the component's newest ready pod sandbox on the node (the node's view,
        view.py): for a static pod the hash of its manifest, so it changes exactly when
        the kubelet runs the edited pod. None when there is none or crictl failed."""
        sbs = sandboxes(self.node, self.node_name, component) or {}
        ready = [uid for uid, state in sbs.items() if state == "SANDBOX_READY"]
        return ready[-1] if ready else None

    def invocation_id(self, unit: str) -> str:
        return self.node.check(f"systemctl show -p InvocationID --value {shlex.quote(unit)}").strip()

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
            def undo(wait: bool = True) -> None:
                self.restore(inj, wait=wait)
            undo.injection = inj
            # A Ctrl-C between the journal entry and its registered undo would leave the entry to the
            # next run: it is held until both are in place (then the undo puts back what it names).
            with deferred_interrupts("journaling"):
                inj.entry = self.journal.record(strat.entry(self, inj))
                register(undo)
            inj.backup_path = inj.entry.backup
            inj.since = self.node.now()
            inj.since_ns = int(self.node.check("date +%s%N").strip())

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
