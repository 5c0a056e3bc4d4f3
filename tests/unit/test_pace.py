"""The pace's decisions (breakfix/pace.py) on the fake node: what is stopped with no grace, when,
and what is left to the kubelet."""
from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace as NS

import pytest

from breakfix import pace as pace_mod
from breakfix.lab_settle import Settle
from breakfix.node import Result
from breakfix.pace import (Container, Pace, apiserver_to_restart, backing_off, check_pace, containers, held_behind,
                           manifest_component, new_pod_started, replaced_by, restored_running, started_while_away,
                           to_stop)
from breakfix.report import Reporter
from breakfix.waits import Observation

from .fakenode import FakeNode

NODE = "n1"


class CrictlNode(FakeNode):
    """The fake node with static pod containers crictl lists as JSON; `crictl stop` ends one."""

    def __init__(self, listed: list[dict], pods: list[dict] | None = None):
        super().__init__()
        self.listed = listed
        self.pods = pods          # sandboxes crictl lists ({uid, state, created}); None: `crictl pods` fails
        self.lock = threading.Lock()

    def crictl(self, args, timeout=30):
        with self.lock:
            self._log("crictl", args)
            if args.startswith("ps -a --name"):
                name = args.split("'^", 1)[1].split("$'", 1)[0]
                mine = [c for c in self.listed if c["name"] == name]
                return Result(0, json.dumps({"containers": [
                    {"id": c["id"], "state": c["state"], "createdAt": str(c["created"]),
                     "labels": {"io.kubernetes.pod.name": f"{name}-{NODE}", "io.kubernetes.pod.uid": c["uid"]}}
                    for c in mine]}), "")
            if args.startswith("pods --name") and self.pods is not None:
                return Result(0, json.dumps({"items": [
                    {"id": f"sb-{p['uid']}", "state": p["state"], "createdAt": str(p.get("created", 1)),
                     "metadata": {"uid": p["uid"], "name": "x"}} for p in self.pods]}), "")
            if args.startswith("stop -t "):
                cid = args.split()[-1]
                for c in self.listed:
                    if c["id"] == cid:
                        c["state"] = "CONTAINER_EXITED"
                return Result(0, "", "")
            return Result(1, "", "unexpected")

    def check(self, cmd, timeout=None, what=None):
        self._log("check", cmd)
        return "100\n"

    def stops(self) -> list[str]:
        return [c[1].split()[-1] for c in self.calls if c[0] == "crictl" and c[1].startswith("stop")]


def c(cid, uid, state="CONTAINER_RUNNING", created=50, name="kube-apiserver"):
    return {"id": cid, "uid": uid, "state": state, "created": created, "name": name}


class Recorded(Reporter):
    """A reporter that keeps what is attached: (name, body)."""

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[str, str]] = []

    def attach(self, name, body, kind="text"):
        self.seen.append((name, body))


def lab_on(node):
    """A lab on NODE with the real once-a-minute kubelet restart of lab_settle.Settle."""
    lab = NS(node=node, node_name=NODE, reporter=Recorded(), kube=None, _last_backoff_clear=-1e9)
    lab.restart_kubelet_for_backoff = lambda stuck, why, **kw: Settle.restart_kubelet_for_backoff(lab, stuck, why, **kw)
    lab.kubelet_restart_allowed = lambda: Settle.kubelet_restart_allowed(lab)
    return lab


def inj(component="kube-apiserver", kind="manifest", before="old", api_down=None):
    api_down = component in pace_mod.LEASELESS if api_down is None else api_down
    return NS(fault=NS(component=component, target=NS(kind=kind), api_down=api_down), before_uid=before)


def wait_for(cond, seconds=5.0):
    end = time.monotonic() + seconds
    while not cond() and time.monotonic() < end:
        time.sleep(0.01)
    return cond()


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setattr(pace_mod, "LOOK_EVERY", 0.01)
    monkeypatch.setattr(pace_mod, "LINGER_S", 2.0)     # a break's drive left going ends soon
    monkeypatch.setattr(pace_mod, "START_WAIT_S", 0.5)  # a break waiting for a new pod that never starts


def test_the_pace_is_one_of_two_and_driven_by_default():
    assert Pace().name == "driven" and Pace().driven
    assert not Pace("kubelet").driven
    with pytest.raises(ValueError, match="unknown pace 'fast': use one of driven, kubelet"):
        check_pace("fast")


def test_containers_are_read_from_crictl_json_oldest_first():
    node = CrictlNode([c("b", "new", created=20), c("a", "old", "CONTAINER_EXITED", created=10),
                       c("x", "e", name="etcd")])
    got = containers(node, NODE, "kube-apiserver")
    assert [(x.id, x.pod_uid, x.running) for x in got] == [("a", "old", False), ("b", "new", True)]


def test_a_failed_listing_is_not_an_empty_one():
    node = CrictlNode([])
    node.crictl = lambda args, timeout=30: Result(1, "", "runtime down")
    assert containers(node, NODE, "etcd") is None


def test_the_break_stops_the_running_containers_of_the_pod_before_the_edit_only():
    listed = [Container("a", "CONTAINER_RUNNING", "old", 1), Container("b", "CONTAINER_EXITED", "old", 2),
              Container("c", "CONTAINER_RUNNING", "new", 3)]
    assert [x.id for x in to_stop(listed, replaced_by("break", "old"))] == ["a"]


def test_the_fix_stops_every_pod_but_the_restored_one():
    listed = [Container("a", "CONTAINER_RUNNING", "orig", 1), Container("b", "CONTAINER_RUNNING", "broken", 2)]
    assert [x.id for x in to_stop(listed, replaced_by("fix", "orig"))] == ["b"]


def test_without_the_pod_before_the_change_nothing_is_guessed():
    assert replaced_by("break", None) is None and replaced_by("fix", "") is None


def test_the_restored_pod_runs_only_with_a_container_created_after_the_restore():
    replaced = replaced_by("fix", "orig")
    assert not restored_running([Container("a", "CONTAINER_RUNNING", "orig", 5)], replaced, since_ns=10)
    assert restored_running([Container("a", "CONTAINER_RUNNING", "orig", 15)], replaced, since_ns=10)
    assert not restored_running([Container("b", "CONTAINER_RUNNING", "broken", 15)], replaced, since_ns=10)


def test_the_api_server_is_restarted_once_etcd_is_back_and_only_if_it_does_not_answer():
    old = [Container("api1", "CONTAINER_RUNNING", "u", 5)]
    assert apiserver_to_restart(True, False, old, since_ns=10).id == "api1"
    assert apiserver_to_restart(False, False, old, since_ns=10) is None        # etcd not back yet
    assert apiserver_to_restart(True, True, old, since_ns=10) is None          # it answers already
    fresh = [Container("api2", "CONTAINER_RUNNING", "u", 15)]
    assert apiserver_to_restart(True, False, fresh, since_ns=10) is None       # started after etcd came back
    assert apiserver_to_restart(True, False, [], since_ns=10) is None          # none running: the kubelet's


def test_a_driven_break_stops_the_old_api_server_with_no_grace_once():
    node = CrictlNode([c("old-api", "old"), c("new-api", "new", "CONTAINER_EXITED")])
    with Pace("driven").drive(lab_on(node), inj(), "break") as d:
        assert wait_for(lambda: node.stops())
    assert node.stops() == ["old-api"]
    assert "crictl stop -t 0 old-api" in d.actions[0]


def test_a_container_the_kubelet_starts_again_in_the_old_pod_is_stopped_again_a_bounded_number_of_times():
    node = CrictlNode([c("old-api", "old")])
    real = node.crictl

    def restarting(args, timeout=30):
        r = real(args, timeout)
        if args.startswith("stop"):
            node.listed[0]["state"] = "CONTAINER_RUNNING"    # as if started again at once
        return r
    node.crictl = restarting
    with Pace("driven").drive(lab_on(node), inj(), "break"):
        assert wait_for(lambda: len(node.stops()) >= pace_mod.MAX_STOPS)
        time.sleep(0.1)
    assert len(node.stops()) == pace_mod.MAX_STOPS


def test_a_driven_fix_stops_the_broken_pod_not_the_restored_one():
    node = CrictlNode([c("orig-api", "orig", created=200), c("broken-api", "broken")])
    with Pace("driven").drive(lab_on(node), inj(before="orig"), "fix"):
        assert wait_for(lambda: node.stops())
    assert node.stops() == ["broken-api"]


@pytest.mark.parametrize("pace,component,kind", [
    ("kubelet", "kube-apiserver", "manifest"),            # the kubelet's own pace
    ("driven", "etcd", "file"),                           # not its manifest: nothing being replaced
    ("driven", "coredns", "manifest"),                    # not a control-plane static pod
])
def test_what_the_driven_pace_leaves_to_the_kubelet(pace, component, kind):
    node = CrictlNode([c("x", "old", name=component)])
    with Pace(pace).drive(lab_on(node), inj(component, kind), "break") as d:
        time.sleep(0.05)
    assert d is None and node.calls == []


@pytest.mark.parametrize("component", ["kube-scheduler", "kube-controller-manager"])
def test_a_leader_elected_component_keeps_its_graceful_stop(component):
    """It holds a lease: the kubelet's graceful stop releases it, a hard one makes the next leader
    wait it out. The driver watches it (to start the new pod) but stops nothing."""
    node = CrictlNode([c("x", "old", name=component)], pods=[{"uid": "old", "state": "SANDBOX_READY"}])
    with Pace("driven").drive(lab_on(node), inj(component), "break") as d:
        time.sleep(0.1)
    assert d is not None and node.stops() == []
    assert ("systemctl", "restart", "kubelet") not in node.calls     # the old container still runs


def test_the_new_pod_is_held_while_the_old_one_has_stopped_and_no_new_sandbox_is_ready():
    stopped = [Container("a", "CONTAINER_EXITED", "old", 1)]
    at_break = replaced_by("break", "old")
    assert held_behind(stopped, {"old": "SANDBOX_NOTREADY"}, at_break)
    assert held_behind(stopped, {"old": "SANDBOX_READY", "new": "SANDBOX_NOTREADY"}, at_break)
    assert not held_behind(stopped, {"old": "SANDBOX_NOTREADY", "new": "SANDBOX_READY"}, at_break)   # started
    assert not held_behind([Container("a", "CONTAINER_RUNNING", "old", 1)], {}, at_break)            # still stopping
    assert not held_behind([], {}, at_break)                                    # no old pod seen: no evidence
    assert held_behind([], {"old": "SANDBOX_NOTREADY"}, at_break, old_seen=True)   # seen, then removed
    at_fix = replaced_by("fix", "orig")     # the restored pod's sandbox from before the break is not ready
    broken = [Container("b", "CONTAINER_EXITED", "broken", 5)]
    assert held_behind(broken, {"orig": "SANDBOX_NOTREADY", "broken": "SANDBOX_NOTREADY"}, at_fix)
    assert not held_behind(broken, {"orig": "SANDBOX_READY"}, at_fix)
    assert new_pod_started({"orig": "SANDBOX_READY"}, at_fix) and not new_pod_started({"orig": "SANDBOX_NOTREADY"}, at_fix)


@pytest.mark.parametrize("component", ["kube-scheduler", "kube-apiserver"])
def test_a_new_pod_the_kubelet_holds_behind_the_old_one_is_started_by_one_kubelet_restart(monkeypatch, component):
    """The break's proof (the old pod stopped) comes first; the break then waits for the new pod,
    restarting the kubelet once HELD_S after the old pod stopped with no new sandbox ready, so
    that no restart falls within the symptoms."""
    monkeypatch.setattr(pace_mod, "HELD_S", 0.05)
    monkeypatch.setattr(pace_mod, "_take_over_lease", lambda lab, node, d, *a: setattr(d, "lease_done", True))
    node = CrictlNode([c("old-x", "old", "CONTAINER_EXITED", name=component)],
                      pods=[{"uid": "old", "state": "SANDBOX_NOTREADY"}])
    lab = lab_on(node)
    pace = Pace("driven")
    with pace.drive(lab, inj(component), "break") as d:
        pass
    assert not d.lingering and pace._lingering is None
    assert node.calls.count(("systemctl", "restart", "kubelet")) == 1 and node.stops() == []
    report = dict(lab.reporter.seen)[f"driven pace (break): {component}"]
    assert "the new pod has no ready sandbox" in report and "kubelet restarted" in report


def test_the_old_containers_removed_by_the_kubelet_still_count_as_seen(monkeypatch):
    """The kubelet removes a terminated pod's containers within a second: seen once is enough."""
    monkeypatch.setattr(pace_mod, "HELD_S", 0.2)
    node = CrictlNode([c("old-s", "old", "CONTAINER_EXITED", name="kube-scheduler")],
                      pods=[{"uid": "old", "state": "SANDBOX_NOTREADY"}])
    with Pace("driven").drive(lab_on(node), inj("kube-scheduler"), "break"):
        assert wait_for(lambda: any(call[0] == "crictl" and call[1].startswith("pods") for call in node.calls))
        node.listed.clear()
    assert ("systemctl", "restart", "kubelet") in node.calls


def test_a_new_pod_the_kubelet_started_by_itself_is_left_alone(monkeypatch):
    monkeypatch.setattr(pace_mod, "HELD_S", 0.05)
    monkeypatch.setattr(pace_mod, "_take_over_lease", lambda lab, node, d, *a: setattr(d, "lease_done", True))
    node = CrictlNode([c("old-s", "old", "CONTAINER_EXITED", name="kube-scheduler"),
                       c("new-s", "new", name="kube-scheduler", created=60)],
                      pods=[{"uid": "old", "state": "SANDBOX_NOTREADY"}, {"uid": "new", "state": "SANDBOX_READY"}])
    lab = lab_on(node)
    with Pace("driven").drive(lab, inj("kube-scheduler"), "break") as d:
        assert wait_for(lambda: d.settled)
    time.sleep(0.1)
    assert ("systemctl", "restart", "kubelet") not in node.calls and not d.lingering


def test_etcd_is_started_by_a_kubelet_restart_only_once_no_api_server_waits_on_it(monkeypatch):
    """A kubelet started while the API server waits on the missing etcd blocks on its timeouts
    (measured: the new etcd 122 s after the edit instead of 48 s): the API server is stopped first,
    and only once it reports its etcd check failed."""
    monkeypatch.setattr(pace_mod, "HELD_S", 0.0)
    says = {"down": False}
    monkeypatch.setattr(pace_mod.probes, "api_reports_etcd_down", lambda kube: says["down"])
    node = CrictlNode([c("old-etcd", "old", "CONTAINER_EXITED", name="etcd"), c("api", "a", name="kube-apiserver")],
                      pods=[{"uid": "old", "state": "SANDBOX_NOTREADY"}])
    pace = Pace("driven")
    with pace.drive(lab_on(node), inj("etcd", before="orig"), "fix") as d:
        time.sleep(0.1)
        assert ("systemctl", "restart", "kubelet") not in node.calls and node.stops() == []
        says["down"] = True
        assert wait_for(lambda: d.settled)
    assert node.stops() == ["api"]
    assert node.calls.index(("crictl", "stop -t 0 api")) < node.calls.index(("systemctl", "restart", "kubelet"))


def test_the_fix_of_a_fault_that_kept_the_api_updates_the_held_pods_mirror_pod_and_restarts_nothing(monkeypatch):
    """A scheduler fix: the restored pod held behind the broken one; its mirror pod is annotated (the
    kubelet takes a mirror pod's update as one of its static pod and tries it again at once), no
    kubelet restart (it would turn every pod's readiness false), no after-outage clean-up."""
    monkeypatch.setattr(pace_mod, "HELD_S", 0.05)
    node = CrictlNode([c("orig-s", "orig", "CONTAINER_EXITED", name="kube-scheduler"),
                       c("broken-s", "broken", "CONTAINER_EXITED", name="kube-scheduler", created=60)],
                      pods=[{"uid": "orig", "state": "SANDBOX_NOTREADY"}, {"uid": "broken", "state": "SANDBOX_NOTREADY"}])
    lab = lab_on(node)
    touched = []

    def annotate(name, ns, key, value):
        touched.append((name, ns, key))
        node.pods.append({"uid": "orig", "state": "SANDBOX_READY", "created": 9})     # the kubelet starts it
    lab.kube = NS(annotate_pod=annotate)
    with Pace("driven").drive(lab, inj("kube-scheduler", before="orig"), "fix") as d:
        assert wait_for(lambda: d.settled)
    assert touched == [(f"kube-scheduler-{NODE}", "kube-system", pace_mod.NUDGE_ANNOTATION)]
    assert ("systemctl", "restart", "kubelet") not in node.calls
    assert len(d.actions) == 1 and "mirror pod kube-scheduler-n1 annotated" in d.actions[0]


def test_a_held_pod_whose_mirror_updates_did_not_start_it_gets_the_kubelet_restarted(monkeypatch):
    monkeypatch.setattr(pace_mod, "HELD_S", 0.02)
    node = CrictlNode([c("broken-s", "broken", "CONTAINER_EXITED", name="kube-scheduler")],
                      pods=[{"uid": "broken", "state": "SANDBOX_NOTREADY"}])
    lab = lab_on(node)
    touched = []
    lab.kube = NS(annotate_pod=lambda *a: touched.append(a))
    with Pace("driven").drive(lab, inj("kube-scheduler", before="orig"), "fix") as d:
        assert wait_for(lambda: d.settled)
    assert len(touched) == pace_mod.MAX_TOUCHES
    assert node.calls.count(("systemctl", "restart", "kubelet")) == 1


def test_a_mirror_pod_the_api_will_not_update_gets_the_kubelet_restarted(monkeypatch):
    monkeypatch.setattr(pace_mod, "HELD_S", 0.02)
    node = CrictlNode([c("broken-s", "broken", "CONTAINER_EXITED", name="kube-scheduler")],
                      pods=[{"uid": "broken", "state": "SANDBOX_NOTREADY"}])
    lab = lab_on(node)

    def refused(*a):
        raise RuntimeError("403")
    lab.kube = NS(annotate_pod=refused)
    with Pace("driven").drive(lab, inj("kube-scheduler", before="orig"), "fix") as d:
        assert wait_for(lambda: d.settled)
    assert node.calls.count(("systemctl", "restart", "kubelet")) == 1
    assert "not updated (RuntimeError): the kubelet is restarted instead" in d.actions[0]


def test_a_driver_that_cannot_read_the_node_says_so_and_stops_hurrying():
    node = CrictlNode([c("x", "old")])

    def boom(args, timeout=30):
        raise RuntimeError("node gone")
    node.crictl = boom
    with Pace("driven").drive(lab_on(node), inj(), "break") as d:
        assert wait_for(lambda: d.error)
    assert "node gone" in d.error


def test_restore_hurries_only_the_manifests_of_control_plane_components():
    assert manifest_component(NS(kind="manifest", path="/etc/kubernetes/manifests/etcd.yaml")) == "etcd"
    assert manifest_component(NS(kind="manifest", path="/etc/kubernetes/manifests/kube-scheduler.yaml")) == "kube-scheduler"
    assert manifest_component(NS(kind="manifest", path="/etc/kubernetes/manifests/stray.yaml")) is None
    assert manifest_component(NS(kind="file", path="/etc/kubernetes/manifests/etcd.yaml")) is None
    node = CrictlNode([c("broken", "b", name="etcd")])
    p = Pace("driven")
    mark = p.replaced_pods(lab_on(node), NS(kind="manifest", path="/etc/kubernetes/manifests/etcd.yaml"))
    assert mark == ("etcd", {"b"})
    assert Pace("kubelet").replaced_pods(lab_on(node), NS(kind="manifest", path="/x/etcd.yaml")) is None
    node.listed.append(c("restored", "r", name="etcd", created=500))
    with p.restoring(lab_on(node), [mark]):
        assert wait_for(lambda: node.stops())
    assert node.stops() == ["broken"]


def test_a_restored_scheduler_keeps_its_graceful_stop_and_gets_no_after_outage_restart(monkeypatch):
    monkeypatch.setattr(pace_mod, "HELD_S", 0.05)
    node = CrictlNode([c("broken", "b", "CONTAINER_EXITED", name="kube-scheduler")],
                      pods=[{"uid": "b", "state": "SANDBOX_NOTREADY"}, {"uid": "orig", "state": "SANDBOX_NOTREADY"}])
    p = Pace("driven")
    mark = p.replaced_pods(lab_on(node), NS(kind="manifest", path="/etc/kubernetes/manifests/kube-scheduler.yaml"))
    with p.restoring(lab_on(node), [mark]) as drives:
        assert wait_for(lambda: drives[0].settled)
    assert node.stops() == []
    assert node.calls.count(("systemctl", "restart", "kubelet")) == 1      # the held pod's, nothing after


def test_a_static_pod_counts_by_readiness_at_the_kubelet_pace_and_by_running_at_the_driven_pace():
    view = NS(ready=False, running=True)
    kubelet, driven = Pace("kubelet"), Pace("driven")
    assert not kubelet.static_works(view) and driven.static_works(view)
    assert not driven.static_works(NS(ready=True, running=False))
    status = NS(ready=False, state=NS(running=object()))
    assert kubelet.container_mark(status) is False and driven.container_mark(status) is True


class _ProbeLab:
    def __init__(self, ready):
        self.kube = None
        self.asked = []
        self.ready = ready

    def component_ready(self, component):
        self.asked.append(component)
        return Observation(self.ready, "Ready" if self.ready else "not Ready")


def test_recovery_is_judged_by_ready_at_the_kubelet_pace_and_by_function_at_the_driven_pace(monkeypatch):
    lab = _ProbeLab(ready=False)
    assert Pace("kubelet").recovered_probe(lab, "kube-apiserver")().ok is False
    assert lab.asked == ["kube-apiserver"]
    monkeypatch.setattr(pace_mod.probes, "api_readyz", lambda kube: NS(status="pass", seen="/readyz 200"))
    monkeypatch.setattr(pace_mod.probes, "etcd_from_api", lambda kube: NS(status="pass", seen="/readyz/etcd 200"))
    assert Pace("driven").recovered_probe(lab, "kube-apiserver")().ok      # works, though not Ready yet
    assert Pace("driven").recovered_probe(lab, "etcd")().ok
    assert Pace("driven").recovered_probe(lab, "kubelet")().ok is False     # not a static pod: as today
    assert lab.asked == ["kube-apiserver", "kubelet"]


def test_a_component_backs_off_when_its_newest_container_exited_and_none_runs():
    assert backing_off([Container("a", "CONTAINER_RUNNING", "u", 1), Container("b", "CONTAINER_EXITED", "u", 2)]) is False
    assert backing_off([Container("a", "CONTAINER_EXITED", "u", 1)])
    assert backing_off([Container("a", "CONTAINER_CREATED", "u", 1)]) is False
    assert backing_off([]) is False


def test_once_a_fix_lands_a_leader_elected_component_in_crash_back_off_is_cleared_by_a_kubelet_restart():
    node = CrictlNode([c("orig-api", "orig", created=200),
                       c("sched", "s", "CONTAINER_EXITED", name="kube-scheduler"),
                       c("kcm", "k", name="kube-controller-manager")])
    lab = lab_on(node)
    with Pace("driven").drive(lab, inj(before="orig"), "fix") as d:
        pass
    assert ("systemctl", "restart", "kubelet") in node.calls
    assert "kube-scheduler not running (crash back-off); the kubelet's watches" in d.actions[-1]
    node.calls.clear()
    with Pace("driven").drive(lab, inj(before="orig"), "fix"):     # every such fix, within a minute too
        pass
    assert ("systemctl", "restart", "kubelet") in node.calls
    node.calls.clear()
    assert not Settle.clear_crash_backoff(lab, "seen")      # the settle's own: once a minute


def test_a_fix_that_did_not_land_restarts_nothing():
    node = CrictlNode([c("sched", "s", "CONTAINER_EXITED", name="kube-scheduler")])
    with pytest.raises(TimeoutError), Pace("driven").drive(lab_on(node), inj(before="orig"), "fix"):
        raise TimeoutError("not recovered")
    assert ("systemctl", "restart", "kubelet") not in node.calls


def test_once_a_fix_lands_the_kubelet_is_restarted_for_its_watches_even_with_every_component_running():
    """After the API was away, the kubelet's watches wait out client-go's back-off (a pod bound to
    the node reached it 70-80 s late): the driven pace restarts it once the fix has landed."""
    node = CrictlNode([c("orig-api", "orig", created=200), c("sched", "s", name="kube-scheduler"),
                       c("kcm", "k", name="kube-controller-manager")])
    with Pace("driven").drive(lab_on(node), inj(before="orig"), "fix") as d:
        pass
    assert ("systemctl", "restart", "kubelet") in node.calls
    assert d.actions[-1] == "the fix landed, the kubelet's watches in back-off after the outage: kubelet restarted"


def test_a_failed_fix_restarts_nothing():
    node = CrictlNode([c("orig-api", "orig", created=200)])
    with pytest.raises(RuntimeError):
        with Pace("driven").drive(lab_on(node), inj(before="orig"), "fix"):
            raise RuntimeError("the restored API server never answered")
    assert ("systemctl", "restart", "kubelet") not in node.calls


def test_a_component_started_while_the_api_was_away_with_no_leader_is_restarted():
    old = Container("s-old", "CONTAINER_RUNNING", "u", 100)
    new = Container("s-new", "CONTAINER_RUNNING", "u", 300)
    exited = Container("s-ex", "CONTAINER_EXITED", "u", 50)
    assert started_while_away([exited, old, new], False, 200) == [old]
    assert started_while_away([old], True, 200) == []        # someone leads: nothing to hurry
    assert started_while_away([old], None, 200) == []        # the lease unread: no evidence
    assert started_while_away([old], False, 0) == []         # the drive's start unknown


def test_once_a_fix_lands_a_scheduler_that_started_during_the_outage_is_stopped_before_the_kubelet_restart(monkeypatch):
    node = CrictlNode([c("orig-api", "orig", created=200), c("sched", "s", name="kube-scheduler", created=10),
                       c("kcm", "k", name="kube-controller-manager", created=10)])
    lab = lab_on(node)
    lab.kube = object()
    monkeypatch.setattr(pace_mod.probes, "lease_live", lambda kube, lease: lease == "kube-controller-manager")
    monkeypatch.setattr(pace_mod, "_node_ns", lambda node: 100)
    with Pace("driven").drive(lab, inj(before="orig"), "fix") as d:
        pass
    stops = [call for call in node.calls if call[0] == "crictl" and call[1].startswith("stop -t 5")]
    assert stops == [("crictl", "stop -t 5 sched")]          # the controller manager leads: left alone
    assert node.calls.index(stops[0]) < node.calls.index(("systemctl", "restart", "kubelet"))
    assert any("lease kube-scheduler has no live holder" in a for a in d.actions)


def test_a_scheduler_the_kubelet_started_after_the_fix_began_but_before_the_api_came_back_is_stopped(monkeypatch):
    """The fix's kubelet restart (the API still away) starts a scheduler that was in crash back-off:
    it started while the API was away all the same."""
    node = CrictlNode([c("orig-api", "orig", created=200), c("sched", "s", name="kube-scheduler", created=150),
                       c("kcm", "k", name="kube-controller-manager", created=250)])
    lab = lab_on(node)
    lab.kube = object()
    clock = iter([100, 220])       # the drive began; the API seen back
    monkeypatch.setattr(pace_mod, "_node_ns", lambda node: next(clock))
    monkeypatch.setattr(pace_mod.probes, "lease_live", lambda kube, lease: False)
    with Pace("driven").drive(lab, inj(before="orig"), "fix"):
        pass
    stops = [call for call in node.calls if call[0] == "crictl" and call[1].startswith("stop -t 5")]
    assert stops == [("crictl", "stop -t 5 sched")]          # the controller manager started after: left alone


def test_lease_live_reads_renew_time_and_duration():
    from datetime import datetime, timedelta, timezone

    from breakfix import probes
    now = datetime(2026, 12, 7, 20, 0, tzinfo=timezone.utc)

    def kube_with(holder, renewed, duration=15):
        spec = NS(holder_identity=holder, renew_time=renewed, lease_duration_seconds=duration)
        return NS(spec=spec)
    for obj, want in ((kube_with("n_1", now - timedelta(seconds=5)), True),
                      (kube_with("n_1", now - timedelta(seconds=20)), False),
                      (kube_with("", now), False), (kube_with("n_1", None), False)):
        orig = probes.lease_holder
        probes.lease_holder = lambda kube, lease, obj=obj: ("n", obj)
        try:
            assert probes.lease_live(object(), "kube-scheduler", now=now) is want
        finally:
            probes.lease_holder = orig
    assert probes.lease_live(None, "kube-scheduler") is None


def test_an_etcd_break_stops_the_old_etcd_then_the_api_server_once_it_reports_etcd_failed(monkeypatch):
    """The API server notices etcd's absence after the break is proven: the drive goes on during the
    symptoms and stops it once it says so, then ends (or at the next drive) with its own report."""
    node = CrictlNode([c("old-etcd", "before", name="etcd"), c("api", "a", name="kube-apiserver")])
    says = {"down": False}
    monkeypatch.setattr(pace_mod.probes, "api_reports_etcd_down", lambda kube: says["down"])
    lab, pace = lab_on(node), Pace("driven")
    with pace.drive(lab, inj(before="before", component="etcd"), "break") as d:
        assert wait_for(lambda: "old-etcd" in node.stops())
    assert d.lingering and node.stops() == ["old-etcd"]      # the API server has not said etcd is gone
    says["down"] = True
    assert wait_for(lambda: "api" in node.stops())
    assert node.stops() == ["old-etcd", "api"]
    assert "/readyz names etcd failed: crictl stop -t 0 api" in d.actions[-1]
    pace.end_lingering()
    assert pace._lingering is None
    assert [n for n, _ in lab.reporter.seen] == ["driven pace (break): etcd", "driven pace (after the break): etcd"]
    assert "goes on during the symptoms" in lab.reporter.seen[0][1]
    assert "/readyz names etcd failed" in lab.reporter.seen[1][1]


def test_a_lingering_etcd_break_ends_when_the_fix_begins(monkeypatch):
    node = CrictlNode([c("old-etcd", "before", name="etcd"), c("api", "a", name="kube-apiserver")])
    monkeypatch.setattr(pace_mod.probes, "api_reports_etcd_down", lambda kube: False)
    lab, pace = lab_on(node), Pace("driven")
    with pace.drive(lab, inj(before="before", component="etcd"), "break") as d:
        assert wait_for(lambda: "old-etcd" in node.stops())
    t = pace._lingering[0]
    with pace.drive(lab, inj(before="orig", component="etcd"), "fix"):
        assert not t.is_alive() and pace._lingering is None
    assert node.stops()[:1] == ["old-etcd"] and "api" not in node.stops()


def test_the_api_server_reports_etcd_down_only_from_its_own_answer(monkeypatch):
    from breakfix import probes
    answers = iter([(500, "[+]ping ok\n[-]etcd failed: reason withheld\n"), (500, "[+]etcd ok\n[-]log failed\n"),
                    (200, "[+]etcd ok\n")])
    monkeypatch.setattr(probes, "get_raw", lambda kube, path: next(answers))
    assert [probes.api_reports_etcd_down(object()) for _ in range(3)] == [True, False, False]

    def refused(kube, path):
        raise ConnectionRefusedError("refused")
    monkeypatch.setattr(probes, "get_raw", refused)
    assert probes.api_reports_etcd_down(object()) is False


def test_an_api_server_break_stops_no_other_component():
    node = CrictlNode([c("old-api", "before"), c("etcd", "e", name="etcd")])
    with Pace("driven").drive(lab_on(node), inj(before="before"), "break"):
        assert wait_for(lambda: node.stops())
    assert node.stops() == ["old-api"]


def test_an_etcd_fix_with_the_api_server_in_crash_back_off_restarts_the_kubelet_then_again_at_the_end(monkeypatch):
    """etcd restored and healthy, the API server exited while etcd was away (no running container):
    its back-off is cleared by a kubelet restart; the end of the fix may restart it once more (the
    leader-elected components that started while the API was away), despite the once-a-minute limit."""
    node = CrictlNode([c("old-etcd", "broken", "CONTAINER_EXITED", name="etcd"),
                       c("etcd", "orig", name="etcd", created=200),
                       c("api", "a", "CONTAINER_EXITED", name="kube-apiserver", created=10)])
    monkeypatch.setattr(pace_mod.probes, "etcd_member", lambda node: NS(status="pass", seen="healthy"))
    monkeypatch.setattr(pace_mod.probes, "api_readyz", lambda kube: NS(status="fail", seen="/readyz refused"))
    with Pace("driven").drive(lab_on(node), inj(before="orig", component="etcd"), "fix") as d:
        assert wait_for(lambda: any("the API server in crash back-off" in a for a in d.actions))
    restarts = [call for call in node.calls if call == ("systemctl", "restart", "kubelet")]
    assert len(restarts) == 2
    assert any("the API server in crash back-off: kubelet restarted" in a for a in d.actions)


def test_a_leader_elected_component_works_again_once_its_lease_was_renewed_since_it_started(monkeypatch):
    monkeypatch.setattr(pace_mod.probes, "api_readyz", lambda kube: NS(status="pass", seen="/readyz 200"))
    view = NS(running=True, started_at=100.0, line=lambda: "kube-controller-manager: running")
    lab = NS(kube=object(), component_view=lambda comp: view)
    renewed = {"since": False}
    monkeypatch.setattr(pace_mod.probes, "lease_renewed_since", lambda kube, lease, since: renewed["since"])
    probe = Pace("driven").recovered_probe(lab, "kube-controller-manager")
    assert not probe().ok            # runs, but waits out the old holder's lease: it does nothing yet
    renewed["since"] = True
    assert probe().ok


def test_a_lease_is_held_by_a_dead_process_only_on_this_node_renewed_before_the_restored_one_started():
    new = Container("new", "CONTAINER_RUNNING", "orig", int(100e9))
    late = int(104e9)
    assert pace_mod.dead_holder(NODE, int(99e9), [new], new, NODE, late)
    assert not pace_mod.dead_holder("n2", int(99e9), [new], new, NODE, late)        # another node's: alive
    assert not pace_mod.dead_holder(NODE, int(101e9), [new], new, NODE, late)       # renewed since: alive
    assert not pace_mod.dead_holder(NODE, int(99e9), [new], new, NODE, int(101e9))  # too soon to tell
    other = Container("other", "CONTAINER_RUNNING", "x", int(50e9))
    assert not pace_mod.dead_holder(NODE, int(99e9), [other, new], new, NODE, late)  # another one runs here
    assert not pace_mod.dead_holder(NODE, None, [new], new, NODE, late)


def test_a_fix_deletes_a_dead_holders_lease_on_the_condition_it_is_unchanged(monkeypatch):
    monkeypatch.setattr(pace_mod, "HELD_S", 0.0)
    node = CrictlNode([c("broken-k", "broken", "CONTAINER_EXITED", name="kube-controller-manager", created=50),
                       c("orig-k", "orig", name="kube-controller-manager", created=int(100e9))],
                      pods=[{"uid": "orig", "state": "SANDBOX_READY"}])
    lab = lab_on(node)
    deleted = []
    lab.kube = NS(delete_lease=lambda name, ns, rv: deleted.append((name, ns, rv)))
    lease = NS(spec=NS(holder_identity=f"{NODE}_1234", renew_time=None, lease_duration_seconds=15),
               metadata=NS(resource_version="42"))
    monkeypatch.setattr(pace_mod, "lease_holder", lambda kube, name: (NODE, lease))
    monkeypatch.setattr(pace_mod.probes, "lease_renewed_ns", lambda obj: int(99e9))
    clock = iter([int(90e9)] + [int(104e9)] * 100)        # the drive began; then 4 s after the restored start
    monkeypatch.setattr(pace_mod, "_node_ns", lambda node: next(clock))
    with Pace("driven").drive(lab, inj("kube-controller-manager", before="orig"), "fix") as d:
        assert wait_for(lambda: d.lease_done)
    assert deleted == [("kube-controller-manager", "kube-system", "42")]
    assert any("lease kube-controller-manager held by n1_1234" in a and "deleted" in a for a in d.actions)


def test_a_leader_elected_break_goes_on_during_the_symptoms_until_the_lease_is_settled(monkeypatch):
    monkeypatch.setattr(pace_mod, "HELD_S", 0.0)
    node = CrictlNode([c("old-k", "old", "CONTAINER_EXITED", name="kube-controller-manager"),
                       c("new-k", "new", name="kube-controller-manager", created=60)],
                      pods=[{"uid": "new", "state": "SANDBOX_READY"}])
    later = {"ok": False}
    monkeypatch.setattr(pace_mod, "_take_over_lease",
                        lambda lab, node, d, *a: setattr(d, "lease_done", later["ok"]))
    pace = Pace("driven")
    lab = lab_on(node)
    with pace.drive(lab, inj("kube-controller-manager"), "break") as d:
        assert wait_for(lambda: d.settled)
    assert d.lingering
    later["ok"] = True
    assert wait_for(lambda: not pace._lingering[0].is_alive())
    pace.end_lingering()
    assert "no lease of a process that no longer runs" in dict(lab.reporter.seen)[
        "driven pace (after the break): kube-controller-manager"]


def test_a_lease_taken_after_the_fix_began_by_a_component_started_while_away_is_restarted_and_freed(monkeypatch):
    """It leads, but its informers wait out client-go's back-off (a probe pod bound 15 s late): it
    is stopped, and its lease, which it need not release, is deleted for the next one."""
    node = CrictlNode([c("orig-api", "orig", created=200), c("sched", "s", name="kube-scheduler", created=150),
                       c("kcm", "k", name="kube-controller-manager", created=10)])
    lab = lab_on(node)
    deleted = []
    lab.kube = NS(delete_lease=lambda name, ns, rv: deleted.append((name, rv)))
    clock = iter([100, 220])       # the drive began; the API seen back
    monkeypatch.setattr(pace_mod, "_node_ns", lambda node: next(clock))
    monkeypatch.setattr(pace_mod.probes, "lease_live", lambda kube, lease: True)
    leases = {"kube-scheduler": NS(spec=NS(acquire_time=None), metadata=NS(resource_version="7")),
              "kube-controller-manager": NS(spec=NS(acquire_time=None), metadata=NS(resource_version="9"))}
    monkeypatch.setattr(pace_mod, "lease_holder", lambda kube, name: (NODE, leases[name]))
    monkeypatch.setattr(pace_mod.probes, "lease_acquired_ns",
                        lambda obj: 205 if obj is leases["kube-scheduler"] else 5)   # the KCM kept its lease
    with Pace("driven").drive(lab, inj(before="orig"), "fix") as d:
        pass
    stops = [call for call in node.calls if call[0] == "crictl" and call[1].startswith("stop -t 5")]
    assert stops == [("crictl", "stop -t 5 sched")]
    assert deleted == [("kube-scheduler", "7")]       # the KCM's still runs: its lease is left alone
    assert any("lease kube-scheduler was taken after the fix began" in a for a in d.actions)


def test_a_lease_taken_by_a_scheduler_on_its_way_out_is_freed(monkeypatch):
    """A scheduler stopped while it waits for its informers takes its lease on its way out: held in
    this node's name with none of its containers running here, it is deleted (unchanged since read)."""
    node = CrictlNode([c("orig-api", "orig", created=200), c("sched", "s", name="kube-scheduler", created=10)])
    lab = lab_on(node)
    deleted = []
    lab.kube = NS(delete_lease=lambda name, ns, rv: deleted.append((name, rv)))
    monkeypatch.setattr(pace_mod, "_node_ns", lambda node: 100)
    monkeypatch.setattr(pace_mod.probes, "lease_live", lambda kube, lease: False)
    monkeypatch.setattr(pace_mod, "lease_holder", lambda kube, name: (
        NODE, NS(spec=NS(acquire_time=None, holder_identity=f"{NODE}_x"), metadata=NS(resource_version="3"))))
    with Pace("driven").drive(lab, inj(before="orig"), "fix") as d:
        pass
    assert deleted == [("kube-scheduler", "3")]
    assert any("lease kube-scheduler held by n1_x, none of its containers running here: deleted" in a
               for a in d.actions)
