"""The writers' lock (breakfix/lock.py) on an in-memory node: who holds it, who waits, who is refused
and when a holder is proven gone. The same lock runs on real kind clusters in tests/e2e/test_lock.py."""
import hashlib
import json

import pytest

from breakfix.errors import NodeUnreachable
from breakfix.journal import Entry, Journal, journal_path
from breakfix.lock import EXPIRY, LOCK_PATH, Holder, Identity, LockHeld, NodeLock, replay_taken_over

from .fakenode import FakeNode

MANIFEST = "/etc/kubernetes/manifests/kube-scheduler.yaml"
ORIGINAL = b"apiVersion: v1\nkind: Pod\n"
RUNNING: set[int] = set()


def me(pid, host="grader-1", key="boot-1/pid:[1]"):
    return Identity(host, key, pid, f"start-{pid}", alive=lambda p, start: p in RUNNING and start == f"start-{p}")


def lock(node, pid, command="breakfix break x", **kw):
    RUNNING.add(pid)
    return NodeLock(node, command, me=me(pid, **{k: kw.pop(k) for k in ("host", "key") if k in kw}),
                    heartbeat=0, pause=lambda s: None, **kw)


@pytest.fixture(autouse=True)
def _running():
    RUNNING.clear()


def held(node) -> dict:
    return json.loads(node.files[LOCK_PATH][0])


def test_the_lock_names_holder_host_pid_command_and_start_and_goes_away_on_release():
    node = FakeNode()
    lk = lock(node, 101, "breakfix break scheduler-command-typo").acquire()
    h = held(node)
    assert (h["host"], h["pid"], h["command"]) == ("grader-1", 101, "breakfix break scheduler-command-typo")
    assert h["holder"] and h["started"] and h["journal"] == []
    lk.release()
    assert LOCK_PATH not in node.files


def test_a_second_writer_is_refused_in_one_line_naming_the_holder_and_nothing_changes():
    node = FakeNode()
    lock(node, 101, "breakfix break scheduler-command-typo").acquire()
    before = node.files[LOCK_PATH]
    with pytest.raises(LockHeld) as exc:
        lock(node, 202, "breakfix break scheduler-image-missing").acquire(wait=0)
    line = str(exc.value)
    assert "\n" not in line and "`breakfix break scheduler-command-typo` (pid 101 on grader-1" in line
    assert "did not wait" in line and "nothing changed" in line
    assert node.files[LOCK_PATH] == before


def test_a_second_writer_waits_until_the_holder_gives_it_back():
    node = FakeNode()
    first = lock(node, 101).acquire()
    t = [0.0]

    def pause(s):   # the first writer ends while the second waits
        t[0] += s
        first.release()

    second = NodeLock(node, "pytest", me=me(202), heartbeat=0, clock=lambda: t[0], pause=pause)
    RUNNING.add(202)
    second.acquire(wait=30)
    assert held(node)["pid"] == 202 and second.took_over is None


def test_waiting_ends_at_the_deadline_and_says_how_long_it_waited():
    node = FakeNode()
    lock(node, 101).acquire()
    t = [0.0]

    def pause(s):
        t[0] += s
    second = NodeLock(node, "pytest", me=me(202), heartbeat=0, clock=lambda: t[0], pause=pause)
    with pytest.raises(LockHeld, match=r"waited 5s"):
        second.acquire(wait=5)
    assert 5 <= t[0] < 7


def test_same_host_and_pid_gone_is_stale_taken_over_and_its_own_entries_replayed():
    node = FakeNode({MANIFEST: ORIGINAL, "/etc/kubernetes/kubelet.conf": b"kubelet"})
    journal = Journal(node)
    # a fault left in place on purpose by a finished `break`, before the dead writer took the lock
    journal.record(Entry(fault="earlier", path="/etc/kubernetes/kubelet.conf",
                         sha256=hashlib.sha256(b"kubelet").hexdigest(), mode="600"))
    node.files["/etc/kubernetes/kubelet.conf"] = (b"broken on purpose", "600")
    lock(node, 101).acquire()
    journal.record(Entry(fault="half-done", path=MANIFEST, sha256=hashlib.sha256(ORIGINAL).hexdigest(), mode="600"))
    node.files[MANIFEST] = (b"broken", "600")
    RUNNING.discard(101)                          # killed -9
    second = lock(node, 202, "breakfix restore").acquire()
    gone, why = second.took_over
    assert gone.pid == 101 and "pid 101 no longer runs on grader-1" == why
    assert held(node)["pid"] == 202
    done = replay_taken_over(journal, gone)
    assert done == ["half-done: " + MANIFEST]
    assert node.files[MANIFEST][0] == ORIGINAL and journal_path("half-done") not in node.files
    assert node.files["/etc/kubernetes/kubelet.conf"][0] == b"broken on purpose"   # stays
    assert journal_path("earlier") in node.files


def test_a_reused_pid_is_not_the_holder():
    node = FakeNode()
    lock(node, 101).acquire()
    RUNNING.add(101)
    other = NodeLock(node, "pytest", me=me(202), heartbeat=0, pause=lambda s: None)
    other.me.alive = lambda p, start: p == 101 and start == "a later start"   # pid 101, another process
    assert other.acquire().took_over[0].pid == 101


def test_another_host_holds_it_until_it_stops_refreshing_it():
    node = FakeNode()
    far = lock(node, 101, host="ci-runner-7", key="boot-9/pid:[1]").acquire()
    node.clock += EXPIRY - 5
    with pytest.raises(LockHeld, match="ci-runner-7"):
        lock(node, 202).acquire()
    assert far.beat()                              # its heartbeat: the age starts again
    node.clock += EXPIRY - 5
    with pytest.raises(LockHeld):
        lock(node, 202).acquire()
    node.clock += 10                               # no heartbeat for longer than EXPIRY: gone
    taken = lock(node, 202).acquire()
    assert "not refreshed for" in taken.took_over[1]


def test_the_same_host_name_after_a_reboot_is_judged_by_the_heartbeat_not_the_pid():
    node = FakeNode()
    lock(node, 101, key="boot-OLD/pid:[1]").acquire()   # pid 101 runs again after the reboot: not the holder
    with pytest.raises(LockHeld):
        lock(node, 202).acquire()
    node.clock += EXPIRY + 1
    assert lock(node, 202).acquire().took_over is not None


def test_a_lock_that_is_not_json_is_never_taken_over():
    node = FakeNode({LOCK_PATH: b"mine, do not touch"})
    node.clock += 10 * EXPIRY
    with pytest.raises(LockHeld, match="not a kube-breakfix lock"):
        lock(node, 202).acquire(wait=30)
    assert node.files[LOCK_PATH][0] == b"mine, do not touch"


def test_release_gives_back_only_its_own_lock():
    node = FakeNode()
    first = lock(node, 101).acquire()
    RUNNING.discard(101)
    lock(node, 202).acquire()                      # took over the gone holder's lock
    first.release()
    assert held(node)["pid"] == 202


def test_a_node_that_fails_is_an_error_at_once_not_a_wait():
    node = FakeNode()
    node.fail_on.add("lock_create")
    t = [0.0]
    with pytest.raises(NodeUnreachable):
        NodeLock(node, "x", me=me(202), heartbeat=0, clock=lambda: t[0], pause=lambda s: t.__setitem__(0, t[0] + s)
                 ).acquire(wait=60)
    assert t[0] == 0


def test_live_holder_says_who_and_whether_it_is_gone():
    node = FakeNode()
    watcher = NodeLock(node, "breakfix check", me=me(303), heartbeat=0)
    assert watcher.live_holder() is None
    lock(node, 101, "breakfix break scheduler-command-typo").acquire()
    h, stale = watcher.live_holder()
    assert h.command == "breakfix break scheduler-command-typo" and stale is None
    RUNNING.discard(101)
    assert watcher.live_holder()[1] == "pid 101 no longer runs on grader-1"


def test_holder_parse_round_trip():
    h = Holder("u", "h", 1, "c", "t", journal=["a"])
    assert Holder.parse(h.to_bytes()) == h and Holder.parse(b"\xff") is None


def test_the_lock_is_taken_only_with_the_journal_it_lists():
    node = FakeNode()
    create, calls = node.lock_create, []

    def racing_create(path, data, same_files=None):   # a writer's entry lands between listing and create
        calls.append(same_files[2])
        if len(calls) == 1:
            node.files[journal_path("other")] = (b"{}", "600")
        return create(path, data, same_files)
    node.lock_create = racing_create
    lock(node, 101).acquire()
    assert calls == [[], [journal_path("other")]] and held(node)["journal"] == [journal_path("other")]
