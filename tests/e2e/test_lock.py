"""End to end: two writers on one cluster, a full disk where backups go, a node that restarts
mid-fault (issue 26), on the kind cluster `breakfix-lock` (a module fixture creates it from
airgap/.build/node-image.ref and deletes it at the end).

  * full disk: a small tmpfs over /var/lib/kube-breakfix with room for the lock but not for a
    backup: `breakfix break` exits 2 with one line, and no watched node file changed;
  * two writers: two `breakfix break` started together: exactly one breaks, the other exits 2 with
    one line naming the holder; `breakfix check` refuses (exit 2, one line) while the break holds
    the lock, and grades with --force;
  * the node restarts (`docker restart`) with that fault in place (the test breaks on its own when
    run alone): `breakfix restore --cluster` restores byte for byte, the control plane comes back
    Ready;
  * the suite (`pytest --cluster-name breakfix-lock`) while a break holds the lock: exit 2, one
    line naming it; that writer killed -9: the next `restore` takes the stale lock over.

The break holding the lock is held still with SIGSTOP while the others run (a live pid: its lock
is not stale), so the test does not depend on how long a break takes. No sleeps: every wait is
breakfix.waits.wait_until with a deadline. The table of cases (expected, seen, time to restore) is
printed at the end of the module."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from breakfix.lock import LOCK_PATH
from breakfix.node import BACKUP_DIR, WATCHED_PATHS
from breakfix.waits import Observation, wait_until

from .support import BIN, IMAGE_REF, ROOT, breakfix, create_cluster_on_network, env, kind, print_rows

pytestmark = [pytest.mark.e2e]

NAME = "breakfix-lock"
CONTAINER = f"{NAME}-control-plane"
NODE = f"docker://{CONTAINER}"
# The cluster's own Docker network: a restarted container gets the first free address of its network,
# and on kind's shared one another cluster may have freed a lower one since (then kubeadm's manifests
# and certificates name an address the node no longer has, and kind does not follow: etcd fails with
# "bind: cannot assign requested address"). Alone on its network, the node keeps its address.
NETWORK = NAME
STATE = "/var/lib/kube-breakfix"          # BACKUP_DIR's parent: where the tmpfs goes
TYPO, IMAGE = "scheduler-command-typo", "scheduler-image-missing"
ROWS: list[tuple[str, str, str, str]] = []   # case, expected, seen, time to restore


def node_sh(cmd: str, timeout: float = 120, ok: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(["docker", "exec", CONTAINER, "sh", "-c", cmd], capture_output=True, text=True,
                       timeout=timeout)
    assert not ok or r.returncode == 0, f"{cmd}: {r.stderr}"
    return r


def watched_sums() -> str:
    return node_sh(f"find {' '.join(WATCHED_PATHS)} -type f | LC_ALL=C sort | xargs sha256sum").stdout


def kube_state() -> str:
    """What breakfix keeps on the node: journal entries, backups, the lock."""
    return node_sh(f"ls -A {BACKUP_DIR} 2>/dev/null; true").stdout


def lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def start_break(fault: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "breakfix.cli", "break", fault, "--cluster", NAME], cwd=ROOT,
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def node_ip() -> str:
    return subprocess.run(["docker", "inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{NETWORK}").IPAddress}}}}',
                           CONTAINER], capture_output=True, text=True, timeout=60).stdout.strip()


def lock_holder() -> Observation:
    r = node_sh(f"cat {LOCK_PATH}", ok=False)
    if r.returncode != 0:
        return Observation(False, r.stderr.strip() or "no lock")
    return Observation(True, json.loads(r.stdout))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, request):
    if not (BIN / "kind").is_file() or not IMAGE_REF.is_file() or not shutil.which("docker"):
        pytest.skip("needs airgap/.build/bin/kind, airgap/.build/node-image.ref and docker (make node-image)")
    kubeconfig = tmp_path_factory.mktemp("lock") / "kubeconfig"
    kind("delete", "cluster", "--name", NAME, timeout=300)
    create_cluster_on_network(NAME, NETWORK, kubeconfig)
    try:
        from breakfix.kube import Kube
        from breakfix.lab import Lab
        from breakfix.node import Node
        Lab(Kube(kubeconfig), Node(NODE), CONTAINER).wait_settled("new kind cluster Ready")
        yield kubeconfig
    finally:
        kind("delete", "cluster", "--name", NAME, timeout=300)
        subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True, timeout=60)
        shutil.rmtree(ROOT / ".pytest-kind" / NAME, ignore_errors=True)   # the suite's adopted kubeconfig
        print_rows(request, "\n| case | expected | seen | time to restore |\n|---|---|---|---|",
                   ["| " + " | ".join(row) + " |" for row in ROWS])


@pytest.fixture(scope="module")
def baseline(cluster) -> str:
    """The watched node files of the healthy cluster: every case ends with them byte for byte."""
    return watched_sums()


def restore(case: str) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.monotonic()
    r = breakfix("restore", "--cluster", NAME, timeout=600)
    took = time.monotonic() - t0
    assert r.returncode == 0, f"{case}: restore exited {r.returncode}: {r.stdout[-600:]} {r.stderr}"
    return r, took


def test_full_disk_break_refuses_and_changes_nothing(baseline):
    before = baseline
    # 8k: one page for the lock, one taken by a filler: no room for the scheduler manifest's backup
    node_sh(f"mkdir -p {STATE} && mount -t tmpfs -o size=8k tmpfs {STATE} && mkdir -m 700 {BACKUP_DIR} && "
            f"dd if=/dev/zero of={STATE}/filler bs=4k count=1 2>/dev/null")
    try:
        r = breakfix("break", TYPO, "--cluster", NAME, timeout=300)
        # one error line, the last; before it only `break`'s own progress: its steps ("- break: ...")
        # and the time each took ("break 3.2 s")
        err = [ln for ln in lines(r.stderr) if ln.startswith("breakfix:")]
        assert r.returncode == 2, f"exit {r.returncode}: {r.stdout[-800:]} {r.stderr}"
        assert len(err) == 1 and lines(r.stderr)[-1] == err[0], r.stderr
        assert "backup of /etc/kubernetes/manifests/kube-scheduler.yaml could not be written" in err[0], err
        assert "no space left on the device" in err[0] and err[0].endswith("nothing changed"), err
        assert watched_sums() == before
        assert kube_state() == "", "backup, journal or lock left behind"
    finally:
        node_sh(f"umount {STATE}")
    ROWS.append(("disk full (8k tmpfs over /var/lib/kube-breakfix)", "break: exit 2, one line, no file changed",
                 f"exit {r.returncode}: {err[0][len('breakfix: error: '):][:90]}...; watched files identical",
                 "nothing to restore"))


def test_two_breaks_together_one_wins_and_check_refuses(baseline):
    procs = {f: start_break(f) for f in (TYPO, IMAGE)}
    winner = None
    try:
        holder = wait_until(lock_holder, "one of the two breaks holds the lock", 120, interval=0.2).seen
        winner = next(f for f, p in procs.items() if p.pid == holder["pid"])
        loser = next(f for f in procs if f != winner)
        os.kill(procs[winner].pid, signal.SIGSTOP)     # the holder stays alive, its lock held
        try:
            _, lerr = procs[loser].communicate(timeout=120)
            lerr = lines(lerr)
            assert procs[loser].returncode == 2 and len(lerr) == 1, (procs[loser].returncode, lerr)
            assert f"is locked by `breakfix break {winner} --cluster {NAME}` (pid {holder['pid']} on" in lerr[0]
            assert lerr[0].endswith("nothing changed")
            t0 = time.monotonic()
            ck = breakfix("check", "--cluster", NAME, "--no-probe-pod", timeout=120)
            ck_s = time.monotonic() - t0
            cerr = lines(ck.stderr)
            assert ck.returncode == 2 and len(cerr) == 1, (ck.returncode, cerr, ck.stdout[-400:])
            assert f"locked by `breakfix break {winner}" in cerr[0] and "--force grades anyway" in cerr[0]
            assert ck.stdout.strip() == ""                  # nothing graded
            forced = breakfix("check", "--cluster", NAME, "--no-probe-pod", "--force", timeout=120)
            assert forced.returncode in (0, 1), (forced.returncode, forced.stderr)
            assert "grading anyway (--force)" in forced.stderr and forced.stdout.strip()
        finally:
            os.kill(procs[winner].pid, signal.SIGCONT)
        out, werr = procs[winner].communicate(timeout=400)
        assert procs[winner].returncode == 0, f"{winner}: exit {procs[winner].returncode}: {out[-800:]} {werr}"
        assert f"broke {winner} on {NODE}" in out
        journal = node_sh(f"ls {BACKUP_DIR}").stdout.split()
        assert journal == ["etc__kubernetes__manifests__kube-scheduler.yaml", f"{winner}.breakfix.json"], journal
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
    # the winner's fault stays in place for the next case (a node restart mid-fault), which restores it
    ROWS.append(("two `breakfix break` together", "one exits 0, the other 2 naming the holder",
                 f"{winner} exit 0; {loser} exit 2: locked by `breakfix break {winner}` (pid {holder['pid']})",
                 "see the restart case"))
    ROWS.append(("`breakfix check` while the break holds the lock", "exit 2, one line; --force grades",
                 f"exit 2 in {ck_s:.1f} s, one line; --force: exit {forced.returncode} with a graded report",
                 "n/a"))


def test_node_restart_mid_fault_restore_puts_back_and_control_plane_ready(baseline):
    before = baseline
    faults = [f.removesuffix(".breakfix.json") for f in kube_state().split() if f.endswith(".breakfix.json")]
    if not faults:   # run alone: no fault left by the two writers' case
        r = breakfix("break", TYPO, "--cluster", NAME, timeout=400)
        assert r.returncode == 0, f"break exited {r.returncode}: {r.stdout[-600:]} {r.stderr}"
        faults = [TYPO]
    assert len(faults) == 1 and watched_sums() != before
    ip = node_ip()
    rs = subprocess.run(["docker", "restart", CONTAINER], capture_output=True, text=True, timeout=180)
    assert rs.returncode == 0, rs.stderr
    assert node_ip() == ip, f"the node came back as {node_ip()}, not {ip}: kind cannot follow an address change"
    assert f"{faults[0]}.breakfix.json" in kube_state()   # the journal survived the restart
    r, took = restore("node restart")
    assert f"restored {faults[0]} on {NODE}" in r.stdout and "control plane Ready again" in r.stdout
    assert watched_sums() == before and kube_state() == ""
    ROWS.append((f"`docker restart` of the node with {faults[0]} in place", "restore byte for byte, control plane Ready",
                 "restore exit 0, every watched file identical to before the two writers, control plane Ready again",
                 f"{took:.1f} s"))


def test_suite_refused_then_writer_killed_holding_the_lock_is_taken_over(baseline, tmp_path):
    before = baseline
    p = start_break(TYPO)
    try:
        holder = wait_until(lock_holder, "the break holds the lock", 120, interval=0.2).seen
        assert holder["pid"] == p.pid
        os.kill(p.pid, signal.SIGSTOP)           # alive, holding the lock: the suite must not start
        t0 = time.monotonic()
        suite = subprocess.run(
            [sys.executable, "-m", "pytest", "suites/test_faults.py", "--fault", IMAGE, f"--cluster-name={NAME}",
             "-p", "no:cacheprovider", f"--alluredir={tmp_path / 'allure'}",
             f"--timings-file={tmp_path / 'timings.json'}"],
            cwd=ROOT, capture_output=True, text=True, env=env(), timeout=300)
        suite_s = time.monotonic() - t0
        out = suite.stdout + suite.stderr
        assert suite.returncode == 2, out[-2000:]
        assert (f"kube-breakfix: {NODE} is locked by `breakfix break {TYPO} --cluster {NAME}` (pid {p.pid} on"
                in out), out[-2000:]
    finally:
        p.kill()
        p.wait(timeout=30)
    ROWS.append(("the suite (`pytest --cluster-name`) while a break holds the lock", "exit 2, one line naming it",
                 f"exit 2 in {suite_s:.1f} s: `Exit: kube-breakfix: ... is locked by breakfix break {TYPO}`",
                 "n/a"))
    assert lock_holder().ok                      # left behind by the killed writer
    r, took = restore("killed holder")
    assert f"took over the lock of `breakfix break {TYPO} --cluster {NAME}` (pid {p.pid}" in r.stderr
    assert f"pid {p.pid} no longer runs" in r.stderr
    assert watched_sums() == before and kube_state() == ""
    ROWS.append(("writer killed -9 holding the lock", "the next restore takes the stale lock over",
                 f"restore exit 0, took over (pid {p.pid} no longer runs); files identical", f"{took:.1f} s"))
