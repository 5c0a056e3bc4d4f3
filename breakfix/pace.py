"""The pace of a fault's break and fix: `kubelet` waits for what the kubelet does by itself,
`driven` (the default) ends the waiting the component does not need.

After an edit of a static pod manifest the kubelet stops the old pod with its termination grace
period, then starts the new pod; after etcd comes back, the API server is restarted only when its
liveness probe has failed long enough. etcd and the API server hold no lease and work again 1-3 s
after a hard stop, so at the driven pace, while the engine waits for a change of their manifest to
take effect (the break's proof of effect, the fix's restore):

- every running container of the pod being replaced (the pod before the edit at the break, any pod
  other than the restored one at the fix) is stopped with no grace (`crictl stop -t 0`): the
  manifest on the node no longer describes that pod, so the kubelet is replacing it;
- after a fix of etcd, once the restored etcd member answers its health check on the node and the
  API server still does not answer /readyz, the API server's container is stopped with no grace
  once: the kubelet starts it again at once instead of waiting for its liveness probe.
- once a fix has landed (the API works again), a scheduler or controller manager that lost its
  lease while the API was away and has no running container is serving a crash back-off: the
  kubelet is restarted at once to clear it.
- the kubelet starts a static pod only once the pod it replaces (the same name, another uid) has
  terminated; a new pod that tried before that is tried again 10-15 s later (the pod workers'
  back-off). When the replaced pod has no running container and the new one still has no ready
  sandbox HELD_S later, the kubelet is made to try it again at once. For the scheduler and the
  controller manager, whose faults leave the API up (their old container keeps the kubelet's
  graceful stop), by an update of their mirror pod (an annotation, NUDGE_ANNOTATION): the kubelet
  takes any update of a mirror pod as an update of its static pod (edit to running: 11.0-14.7 s
  without, 1.6-1.7 s with). Else, or when that did not start it, by a restart of the kubelet (2-3 s
  for the API server, against 13-15 s), which also turns every pod's readiness false until its
  next probe. For etcd only while no API server container runs: a kubelet started
  while an API server waits on the missing etcd blocks on that API server's timeouts (the new etcd
  came 122 s after the edit instead of 48 s); an API server that reports its etcd check failed is
  stopped with no grace first (the API is away already: the outage is the fault's).

The scheduler and the controller manager hold leader-election leases: a graceful stop releases the
lease, a hard one makes the next leader wait it out, so they keep the kubelet's graceful stop.

Recovery at the driven pace is judged by function (probes.py): the API server by /readyz, etcd by
/readyz/etcd, the scheduler and the controller manager by their container running and their lease
renewed since it started (someone alive leads; the verification that follows binds a pod and scales
a Deployment); a static pod's Ready condition lags its function by its startup probe.

The controller manager does not release its lease when the kubelet stops it, so the restored one
waits out the old holder's lease (15 s; 17-18 s measured from its first try). At a break or a fix
(the break's drive goes on during the symptoms for it), once the new container has run for
LEASE_QUIET_S and the lease, held in the name of this node, was last
renewed before that container started (its holder is a process of this node that no longer runs:
the only running container of the component is the restored one), the Lease is deleted, on the
condition that it is unchanged since it was read: the restored component takes it at its next try
(2 s). What each step decides is read from crictl's JSON (container
ids, states, pod uids, created times), never from text."""
from __future__ import annotations

import contextlib
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from . import probes
from .kube import LEADER_ELECTED
from .node import Node
from .shapes import lease_holder
from .view import Container, containers, sandboxes
from .waits import Observation

PACES = ("driven", "kubelet")
DEFAULT_PACE = "driven"
# Components that hold no lease: a hard stop costs them nothing.
LEASELESS = ("etcd", "kube-apiserver")
LOOK_EVERY = 0.25        # seconds between two looks of the driver at the node
MAX_STOPS = 4            # stops of one pod's containers per drive (the kubelet restarts none of them)
HELD_S = 1.0             # how long a new static pod may wait after the old one stopped before the nudge
NUDGE_ANNOTATION = "kube-breakfix/nudge"   # set on a held pod's mirror pod: the kubelet tries it again
MAX_TOUCHES = 2          # mirror pod updates before the kubelet is restarted instead


def check_pace(value: str) -> str:
    """VALUE when it names a pace; ValueError with one line otherwise."""
    if value not in PACES:
        raise ValueError(f"unknown pace {value!r}: use one of {', '.join(PACES)}")
    return value


def replaced_by(phase: str, before_uid: str | None) -> Callable[[str], bool] | None:
    """Which pods (by uid) the kubelet is replacing: at the break the pod before the edit
    (BEFORE_UID), at the fix every pod but the restored one (BEFORE_UID). None without BEFORE_UID:
    which pod is being replaced would be a guess."""
    if not before_uid:
        return None
    if phase == "break":
        return lambda uid: uid == before_uid
    return lambda uid: uid != before_uid


def to_stop(listed: list[Container], replaced: Callable[[str], bool]) -> list[Container]:
    """The running containers of a pod being replaced: stopped with no grace."""
    return [c for c in listed if c.running and replaced(c.pod_uid)]


def restored_running(listed: list[Container], replaced: Callable[[str], bool], since_ns: int) -> bool:
    """A container of the pod that replaces the old one, created after SINCE_NS, runs."""
    return any(c.running and not replaced(c.pod_uid) and c.created_ns >= since_ns for c in listed)


def new_pod_started(states: dict[str, str], replaced: Callable[[str], bool]) -> bool:
    """A pod that is not being replaced has a ready sandbox (STATES: {uid: state} of the
    component's sandboxes, the newest per uid): the kubelet has started the new pod."""
    return any(st == "SANDBOX_READY" and not replaced(uid) for uid, st in states.items())


def held_behind(listed: list[Container], states: dict[str, str], replaced: Callable[[str], bool],
                old_seen: bool = False) -> bool:
    """Whether the kubelet holds the new static pod behind the one it replaces: a container of a
    replaced pod was seen (listed now, or OLD_SEEN earlier in the drive: the kubelet removes the
    containers of a pod it has terminated within a second) and none runs, and the new pod has no
    ready sandbox yet."""
    old = [c for c in listed if replaced(c.pod_uid)]
    return (bool(old) or old_seen) and not any(c.running for c in old) and not new_pod_started(states, replaced)


def apiserver_to_restart(etcd_healthy: bool, api_ready: bool, listed: list[Container],
                         since_ns: int) -> Container | None:
    """After etcd's fix: the API server's running container to stop with no grace, when the restored
    etcd answers its health check and the API server still does not answer /readyz, and the API
    server container was not started after etcd came back (since SINCE_NS) already."""
    if not etcd_healthy or api_ready:
        return None
    running = [c for c in listed if c.running]
    if not running or any(c.created_ns >= since_ns for c in running):
        return None
    return running[-1]


def started_while_away(listed: list[Container], lease_live: bool | None, since_ns: int) -> list[Container]:
    """The running containers of a leader-elected component to restart once the API is back: none
    while its lease has a live holder (someone leads) or could not be read; else those created
    before SINCE_NS (when the API was seen back), i.e. started while the API was away. Such a
    container waits out client-go's back-off before it even tries for the lease (measured:
    docs/speed.md)."""
    if lease_live is not False or not since_ns:
        return []
    return [c for c in listed if c.running and c.created_ns < since_ns]


def backing_off(listed: list[Container]) -> bool:
    """A static pod's containers (oldest first) whose newest has exited and none runs: the kubelet
    starts it again only after its crash back-off."""
    return bool(listed) and not any(c.running for c in listed) and listed[-1].state == "CONTAINER_EXITED"


def own_node(node):
    """A connection of the driver's own to NODE's node: a Node sets its transport's deadline per
    command, so two threads must not share one. Anything else (a fake node) is used as it is."""
    if isinstance(node, Node):
        return Node(node.spec, sudo=node.sudo, default_timeout=node.default_timeout)
    return node


def manifest_component(entry) -> str | None:
    """The control-plane component whose manifest a journal ENTRY puts back, else None."""
    path = getattr(entry, "path", None) or ""
    if getattr(entry, "kind", None) != "manifest" or not path.endswith(".yaml"):
        return None
    name = path.rsplit("/", 1)[-1].removesuffix(".yaml")
    return name if name in LEASELESS + LEADER_ELECTED else None


@dataclass
class Drive:
    """What one drive did (for the report): each stop, seconds since the drive began."""
    phase: str
    component: str
    actions: list[str] = field(default_factory=list)
    last_seen: str = ""
    error: str | None = None
    since_ns: int = 0       # the node's clock when the drive began (0: unknown)
    lingering: bool = False # the break's body is done; the drive goes on during the symptoms
    settled: bool = False   # the new pod has a ready sandbox, or the kubelet was restarted to start it
    old_seen: bool = False  # a container of a replaced pod was listed during the drive
    touches: int = 0        # updates of the held pod's mirror pod
    lease_done: bool = False  # the restored leader-elected component's lease: taken over, or not needed


LINGER_S = 90           # how long an etcd break's drive goes on after the break, at most
START_WAIT_S = 20       # how long another break waits for the new pod to start (HELD_S, a restart)
LEASE_QUIET_S = 3.0     # a live holder renews every 2 s: this long without, the holder is gone


class Pace:
    def __init__(self, name: str = DEFAULT_PACE):
        self.name = check_pace(name)
        self._lingering: tuple | None = None   # (thread, drive, stop event, lab, actions reported)

    @property
    def driven(self) -> bool:
        return self.name == "driven"

    # --- the driver --------------------------------------------------------------------------
    @contextlib.contextmanager
    def drive(self, lab, inj, phase: str) -> Iterator[Drive | None]:
        """While the body waits for the change of INJ's static pod to take effect (PHASE break) or
        for the restored pod (PHASE fix), stop what the kubelet is replacing with no grace (see the
        module's doc). Nothing at the kubelet pace, for a component that holds a lease, or for a
        target that is not the component's manifest."""
        self.end_lingering()
        f = inj.fault
        replaced = replaced_by(phase, inj.before_uid)
        if (not self.driven or f.component not in LEASELESS + LEADER_ELECTED or f.target.kind != "manifest"
                or replaced is None):
            yield None
            return
        with self._driving(lab, f.component, phase, replaced, after_outage=bool(f.api_down)) as d:
            yield d

    def replaced_pods(self, lab, entry) -> tuple[str, set[str]] | None:
        """Before journal ENTRY is replayed (`breakfix restore`): (component, uids of its pods on
        the node now) when the driven pace is to hurry its restore, else None. Those pods are the
        ones the restored manifest replaces."""
        component = manifest_component(entry)
        if not self.driven or component is None:
            return None
        listed = containers(lab.node, lab.node_name, component)
        return (component, {c.pod_uid for c in listed}) if listed else None

    @contextlib.contextmanager
    def restoring(self, lab, marks: list[tuple[str, set[str]]]) -> Iterator[list[Drive]]:
        """While the body waits for the control plane after `breakfix restore`: for each of MARKS
        (replaced_pods), stop the running containers of the pods that were there before the replay.
        Yields the drives (what each did, filled in when the body is done)."""
        self.end_lingering()
        drives: list[Drive] = []
        with contextlib.ExitStack() as stack:
            for component, old in marks:
                drives.append(stack.enter_context(
                    self._driving(lab, component, "fix", lambda uid, old=old: uid in old,
                                  after_outage=component in LEASELESS)))
            yield drives

    @contextlib.contextmanager
    def _driving(self, lab, component: str, phase: str, replaced: Callable[[str], bool],
                 after_outage: bool = True) -> Iterator[Drive]:
        """The driver's thread around the body. AFTER_OUTAGE: the API was away (an API-down fault,
        `breakfix restore` of a leaseless manifest): the end of a fix clears what waits after an
        outage (_clear_backoff)."""
        d = Drive(phase, component)
        stop = threading.Event()
        t = threading.Thread(target=_drive_loop, args=(lab, d, replaced, stop), name=f"pace-{phase}", daemon=True)
        t.start()
        linger = False
        try:
            yield d
            if phase == "fix":
                stop.set()
                t.join(timeout=60)
                if after_outage:
                    _clear_backoff(lab, d)
            # The break's proof (the old pod stopped) comes before the new pod starts. At an etcd
            # break the drive goes on during the symptoms, to stop the API server once it reports
            # etcd failed (_stop_apiserver_with_etcd) and then start a held etcd pod. Else the break
            # waits here until the new pod is started (by the kubelet, or by its restart when it
            # holds the pod): a kubelet restart during the symptoms would turn every pod's readiness
            # false until its next probe, also of a component whose symptom is that it stays Ready.
            if phase == "break" and component != "etcd":
                end = time.monotonic() + START_WAIT_S
                while t.is_alive() and not d.settled and time.monotonic() < end:
                    stop.wait(LOOK_EVERY)
            # A leader-elected component's drive goes on to take over a dead holder's lease (only a
            # Lease is deleted: nothing the pods' readiness sees).
            linger = phase == "break" and t.is_alive() and (
                component == "etcd" or (component in LEADER_ELECTED and not d.lease_done))
        finally:
            if linger:
                d.lingering = True
                self._lingering = (t, d, stop, lab, len(d.actions))
            else:
                stop.set()
                t.join(timeout=60)
            body = "\n".join(d.actions) or "nothing stopped (the kubelet was faster)"
            if d.error:
                body += f"\nthe driver stopped: {d.error}"
            if linger and component == "etcd":
                body += ("\ngoes on during the symptoms: once the API server reports its etcd check failed, it is "
                         "stopped once, and a new etcd pod the kubelet holds is started by a kubelet restart (see "
                         "`driven pace (after the break)`)")
            elif linger:
                body += ("\ngoes on during the symptoms: a lease left by the stopped pod is taken over (see "
                         "`driven pace (after the break)`)")
            lab.reporter.attach(f"driven pace ({phase}): {component}", body + f"\nlast seen: {d.last_seen}")

    def end_lingering(self) -> None:
        """End the drive an etcd break left going (before the next drive, a restore, or the run's
        end), and report what it did after the break."""
        if self._lingering is None:
            return
        t, d, stop, lab, reported = self._lingering
        self._lingering = None
        stop.set()
        t.join(timeout=60)
        after = d.actions[reported:]
        lab.reporter.attach(f"driven pace (after the break): {d.component}",
                            "\n".join(after) or ("nothing done (the API server did not report etcd failed)"
                                                 if d.component == "etcd" else
                                                 "nothing done (no lease of a process that no longer runs)"))

    # --- recovery judged by function ---------------------------------------------------------
    def recovered_probe(self, lab, component: str) -> Callable[[], Observation]:
        """What says COMPONENT works again after its fix: at the kubelet pace its Ready condition
        (Lab.component_ready); at the driven pace its function (see the module's doc)."""
        if not self.driven or component not in LEASELESS + LEADER_ELECTED:
            return lambda: lab.component_ready(component)

        def works() -> Observation:
            api = probes.api_readyz(lab.kube)
            if component == "kube-apiserver":
                return Observation(api.status == "pass", api.seen)
            if component == "etcd":
                e = probes.etcd_from_api(lab.kube)
                return Observation(e.status == "pass", e.seen)
            v = lab.component_view(component)
            leads = probes.lease_renewed_since(lab.kube, component, v.started_at) if v.running else None
            return Observation(api.status == "pass" and v.running and leads is True,
                               f"{api.seen}; {v.line()}; lease {component} renewed since it started: {leads}")
        return works

    def static_works(self, view) -> bool:
        """Whether a control-plane static pod counts as up in a settle: Ready and running at the
        kubelet pace; running at the driven pace, where the settle's other checks judge the
        function (/readyz answers, which needs etcd; the node Ready; no container restarting
        within the stability window) and the verification binds a pod and scales a Deployment.
        Its Ready condition lags by its startup probe (initial delay 10 s, period 10 s)."""
        if self.driven:
            return bool(view.running)
        return bool(view.ready and view.running)

    def container_mark(self, status) -> bool:
        """What the settle's fingerprint keeps of a container status beside its restart count: its
        readiness at the kubelet pace; at the driven pace whether it runs (a readiness turning true
        after its startup probe is no change of the control plane; a restart is)."""
        if self.driven:
            return bool(status.state and status.state.running)
        return bool(status.ready)


# --- the driver's thread and what it does -------------------------------------------------
def _drive_loop(lab, d: Drive, replaced: Callable[[str], bool], stop: threading.Event) -> None:
    t0 = time.monotonic()
    try:
        node = own_node(lab.node)
    except Exception as exc:  # noqa: BLE001 - the driver only hurries; the waits decide
        d.error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
        return
    since_ns = d.since_ns = _node_ns(node)
    stops: dict[str, int] = {}
    api_restarted = api_stopped = False
    held_at: float | None = None
    while not stop.is_set():
        done = d.settled and api_stopped if d.component == "etcd" else d.lease_done
        if d.lingering and (done or time.monotonic() - t0 > LINGER_S):
            return
        try:
            listed = containers(node, lab.node_name, d.component)
            if listed is None:
                d.last_seen = "crictl ps failed"
            else:
                d.last_seen = ", ".join(f"{c.id[:13]} {c.state} pod {c.pod_uid[:12]}" for c in listed) or "none"
                for c in (to_stop(listed, replaced) if d.component in LEASELESS else []):
                    if stops.get(c.pod_uid, 0) >= MAX_STOPS:
                        continue
                    stops[c.pod_uid] = stops.get(c.pod_uid, 0) + 1
                    r = node.crictl(f"stop -t 0 {shlex.quote(c.id)}")
                    d.actions.append(f"{time.monotonic() - t0:5.1f} s: crictl stop -t 0 {c.id[:13]} "
                                     f"({d.component}, pod {c.pod_uid[:12]}): "
                                     + ("stopped" if r.ok else f"exit {r.rc}"))
                if (d.phase == "break" and d.component == "etcd" and (stops or d.lingering) and not api_stopped
                        and probes.api_reports_etcd_down(lab.kube)):
                    api_stopped = _stop_apiserver_with_etcd(lab, node, d, t0)
                if (d.phase == "fix" and d.component == "etcd" and not api_restarted
                        and restored_running(listed, replaced, since_ns)):
                    api_restarted = _restart_apiserver(lab, node, d, t0, since_ns)
                if not d.settled:
                    held_at = _nudge(lab, node, d, listed, replaced, held_at, t0)
                if d.component in LEADER_ELECTED and d.settled and not d.lease_done:
                    _take_over_lease(lab, node, d, listed, replaced, since_ns, t0)
        except Exception as exc:  # noqa: BLE001 - the driver only hurries; the waits decide
            d.error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            return
        stop.wait(LOOK_EVERY)

def _nudge(lab, node, d: Drive, listed: list[Container], replaced: Callable[[str], bool],
           held_at: float | None, t0: float) -> float | None:
    """The kubelet holds the new static pod behind the replaced one (held_behind) for HELD_S: a
    leader-elected component's mirror pod is updated (at most MAX_TOUCHES times, HELD_S apart),
    else the kubelet is restarted once (etcd: see the module's doc); either way the kubelet tries
    the new pod at once. Returns when the hold was first seen (or the last update made)."""
    states = sandboxes(node, lab.node_name, d.component)
    if states is None:
        return held_at
    if new_pod_started(states, replaced):
        d.settled = True
        return None
    d.old_seen = d.old_seen or any(replaced(c.pod_uid) for c in listed)
    if not held_behind(listed, states, replaced, d.old_seen):
        return None
    now = time.monotonic()
    if held_at is None:
        return now
    if now - held_at < HELD_S:
        return held_at
    held = (f"{now - t0:5.1f} s: no {d.component} container of the replaced pod runs and the new pod has no ready "
            f"sandbox {now - held_at:.1f} s later (the kubelet tries it again only after its pod workers' back-off "
            f"of 10-15 s)")
    if d.component in LEADER_ELECTED and d.touches < MAX_TOUCHES:
        mirror = f"{d.component}-{lab.node_name}"
        try:
            lab.kube.annotate_pod(mirror, "kube-system", NUDGE_ANNOTATION, str(time.time_ns()))
        except Exception as exc:  # noqa: BLE001 - the API refused or is away: the restart below
            d.actions.append(f"{now - t0:5.1f} s: mirror pod {mirror} not updated "
                             f"({type(exc).__name__}): the kubelet is restarted instead")
            d.touches = MAX_TOUCHES
        else:
            d.touches += 1
            d.actions.append(f"{held}: mirror pod {mirror} annotated {NUDGE_ANNOTATION} (the kubelet takes it as "
                             f"an update of the static pod)")
            return now
    if d.component == "etcd":
        api = [c for c in containers(node, lab.node_name, "kube-apiserver") or [] if c.running]
        if api and not probes.api_reports_etcd_down(lab.kube):
            return held_at          # not yet: a restarted kubelet would wait on this API server
        for c in api:
            r = node.crictl(f"stop -t 0 {shlex.quote(c.id)}")
            d.actions.append(f"{now - t0:5.1f} s: /readyz names etcd failed: crictl stop -t 0 {c.id[:13]} "
                             f"(kube-apiserver, so that the restarted kubelet's calls fail at once): "
                             + ("stopped" if r.ok else f"exit {r.rc}"))
    node.systemctl("restart", "kubelet")
    d.settled = True
    d.actions.append(f"{held}: kubelet restarted")
    return None


def dead_holder(holder_node: str | None, renewed_ns: int | None, running: list[Container], new: Container,
                node_name: str, now_ns: int) -> bool:
    """Whether a leader-elected component's lease is held by a process that no longer runs: held
    in the name of this node, last renewed before NEW (the restored container, the only one of the
    component RUNNING on the node) started, and NEW has run LEASE_QUIET_S without a renewal."""
    return (holder_node == node_name and renewed_ns is not None and running == [new]
            and renewed_ns < new.created_ns and now_ns - new.created_ns >= LEASE_QUIET_S * 1e9)


def _take_over_lease(lab, node, d: Drive, listed: list[Container], replaced: Callable[[str], bool],
                     since_ns: int, t0: float) -> None:
    running = [c for c in listed if c.running]
    new = [c for c in running if not replaced(c.pod_uid) and c.created_ns >= since_ns]
    if len(new) != 1 or not since_ns:
        return
    holder, obj = lease_holder(lab.kube, d.component)
    renewed = probes.lease_renewed_ns(obj)
    if renewed is not None and renewed >= new[0].created_ns:
        d.lease_done = True         # renewed since the restored one started: a live holder
        return
    if not dead_holder(holder, renewed, running, new[0], lab.node_name, _node_ns(node)):
        return
    d.lease_done = True
    try:
        lab.kube.delete_lease(d.component, "kube-system", obj.metadata.resource_version)
    except Exception as exc:  # noqa: BLE001 - renewed meanwhile (409) or gone: its holder decides
        d.actions.append(f"{time.monotonic() - t0:5.1f} s: lease {d.component} not deleted ({type(exc).__name__})")
        return
    d.actions.append(f"{time.monotonic() - t0:5.1f} s: lease {d.component} held by {obj.spec.holder_identity}, last "
                     f"renewed before the restored container started, none since: deleted (the restored one takes "
                     f"it at its next try instead of waiting out {obj.spec.lease_duration_seconds} s)")


def _clear_backoff(lab, d: Drive) -> None:
    """The fix has landed and the API works again (the body's wait returned) after the API was
    away. What still waits is the kubelet's and the leader-elected components' own back-off:
    - the kubelet's watches: client-go's reflector waits up to 30 s between attempts, with as
      much jitter again, grown while the API was away (and the node authorizer refuses the
      first lists after the API server's start): a pod bound to the node reached it 70-80 s
      after the API came back;
    - a scheduler or controller manager that started while the API was away, with no live
      lease holder: its informers wait out the same back-off before it even tries for the lease
      (60 s measured); it is stopped (it leads nothing, so it releases nothing);
    - one that lost its lease and has no running container: its crash back-off (up to 5
      minutes, kept per pod uid). Lab.clear_crash_backoff does the same later from the pod
      statuses (which lag here).
    Then the kubelet is restarted, which clears all three at once and starts the stopped
    components again; once for every such fix, whatever the once-a-minute limit of the settle's
    restarts says (a fault that follows within a minute has the same back-offs: 55.6 s of
    verification were measured when this restart was skipped)."""
    waiting, stopped = [], []
    # The API answers again now: a container created before this moment started while it was away,
    # also one the kubelet started after the fix began (a kubelet restarted during the outage
    # starts at once what was in crash back-off).
    back_ns = _node_ns(lab.node) or d.since_ns
    for component in LEADER_ELECTED:
        listed = containers(lab.node, lab.node_name, component) or []
        if listed and backing_off(listed):
            waiting.append(component)
            continue
        live = probes.lease_live(lab.kube, component)
        try:
            holder, lease = lease_holder(lab.kube, component)
        except Exception:  # noqa: BLE001 - unread: only the live check above decides
            holder, lease = None, None
        # Taken after the fix began: by a component that lost it while the API was away and started
        # again meanwhile, whose informers wait out the same back-off (a probe pod bound 15 s late).
        fresh = live is True and (probes.lease_acquired_ns(lease) or 0) >= d.since_ns > 0
        why = "was taken after the fix began" if fresh else "has no live holder"
        away = started_while_away(listed, False if fresh else live, back_ns)
        for c in away:
            r = lab.node.crictl(f"stop -t 5 {shlex.quote(c.id)}")
            d.actions.append(f"the fix landed, lease {component} {why}: crictl stop -t 5 {c.id[:13]} "
                             f"({component}, started while the API was away): " + ("stopped" if r.ok else f"exit {r.rc}"))
            stopped.append(component)
        if away:
            _free_lease(lab, d, component)
    stuck = waiting + stopped + ["the kubelet's API watches"]
    if lab.restart_kubelet_for_backoff(stuck, "after the API came back (crash back-off; the watches' "
                                              "back-off after the outage), seen from the node's containers",
                                       again=True):
        what = f"{', '.join(waiting)} not running (crash back-off); " if waiting else ""
        d.actions.append(f"the fix landed, {what}the kubelet's watches in back-off after the outage: kubelet restarted")

def _free_lease(lab, d: Drive, component: str) -> None:
    """After COMPONENT's containers were stopped: a Lease held in this node's name while none of
    its containers runs on the node is held by a process that no longer runs (the controller
    manager does not release it; a scheduler stopped while it waits for its informers takes it on
    its way out, measured: the next one acquired it 15.4 s after its first try). It is deleted on
    the condition that it is unchanged: the one the kubelet starts next takes it at once."""
    try:
        holder, lease = lease_holder(lab.kube, component)
        listed = containers(lab.node, lab.node_name, component)
    except Exception:  # noqa: BLE001 - unread: nothing to decide on
        return
    if holder != lab.node_name or listed is None or any(c.running for c in listed):
        return
    try:
        lab.kube.delete_lease(component, "kube-system", lease.metadata.resource_version)
        d.actions.append(f"the fix landed, lease {component} held by {lease.spec.holder_identity}, none of its "
                         f"containers running here: deleted")
    except Exception as exc:  # noqa: BLE001 - renewed meanwhile (409) or gone: its holder decides
        d.actions.append(f"the fix landed, lease {component} not deleted ({type(exc).__name__})")


def _node_ns(node) -> int:
    try:
        return int(node.check("date +%s%N").strip())
    except Exception:  # noqa: BLE001 - unknown: only the API server's own start counts then
        return 0

def _stop_apiserver_with_etcd(lab, node, d: Drive, t0: float) -> bool:
    """At an etcd break, once the old etcd is stopped and the API server itself reports its etcd
    check failed (/readyz?verbose: the outage is the fault's, not the driver's): the API
    server's running container too, once. Before it starts the new etcd pod the kubelet deletes
    the old one's mirror pod through the API server, which without etcd holds the request until
    its own timeout (34 s in the kubelet's journal); a stopped API server refuses it at once (the
    new etcd's container came 10-22 s after the edit instead of 47 s, measured on a kind node).
    The API server holds no lease; the kubelet starts it again."""
    api = [c for c in containers(node, lab.node_name, "kube-apiserver") or [] if c.running]
    for c in api:
        r = node.crictl(f"stop -t 0 {shlex.quote(c.id)}")
        d.actions.append(f"{time.monotonic() - t0:5.1f} s: /readyz names etcd failed: crictl stop -t 0 {c.id[:13]} "
                         f"(kube-apiserver, so that the kubelet's delete of the old etcd's mirror pod fails at once): "
                         + ("stopped" if r.ok else f"exit {r.rc}"))
    return True

def _restart_apiserver(lab, node, d: Drive, t0: float, since_ns: int) -> bool:
    healthy = probes.etcd_member(node).status == "pass"
    if not healthy:
        return False
    ready = probes.api_readyz(lab.kube).status == "pass"
    api = containers(node, lab.node_name, "kube-apiserver") or []
    c = apiserver_to_restart(healthy, ready, api, since_ns)
    if ready:
        d.actions.append(f"{time.monotonic() - t0:5.1f} s: etcd healthy, the API server answers /readyz: "
                         f"not restarted")
        return True
    if api and backing_off(api):   # it exited while etcd was away: its crash back-off holds it
        if not lab.restart_kubelet_for_backoff(["kube-apiserver"], "in crash back-off once etcd was back",
                                               node=node, report=False):
            return False
        d.actions.append(f"{time.monotonic() - t0:5.1f} s: etcd healthy, the API server in crash back-off: "
                         f"kubelet restarted")
        return True
    if c is None:
        return False
    r = node.crictl(f"stop -t 0 {shlex.quote(c.id)}")
    d.actions.append(f"{time.monotonic() - t0:5.1f} s: etcd healthy, /readyz failing: crictl stop -t 0 "
                     f"{c.id[:13]} (kube-apiserver): " + ("stopped" if r.ok else f"exit {r.rc}"))
    return True
