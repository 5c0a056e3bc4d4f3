"""The writers' lock on a node: one writer at a time changes a cluster's node files and journal.

`breakfix break`, `restore`, `lab setup`, `lab reset` and the suite (for its cluster) take it before
they read or write the journal, and give it back when they end. The lock is the file LOCK_PATH in the
journal's directory on the node (the first control-plane node of the cluster: the node those
commands address), holding JSON: holder (user), host, pid, command, start time, and what tells a
live holder from a gone one. It is created only when absent and replaced only by who read it, each
as one command under `flock` on the node (Node.lock_create / lock_swap).

A second writer waits up to --wait-lock seconds for it, then refuses with one line naming the
holder (LockHeld: exit 2, nothing changed). `breakfix check` refuses while a live writer holds it,
unless --force (grading a change in progress grades the writer, not the learner).

A lock is stale (its holder is proven gone), and taken over, when
  * it was taken on this machine (same host name, boot id and pid namespace) and its pid no longer
    runs, or runs a process started at another time (the pid was reused); or
  * it was taken anywhere else (another machine, or this one before a reboot) and its holder has
    not refreshed it for EXPIRY seconds by the node's own clock (every holder refreshes its lock's
    mtime every HEARTBEAT seconds from a background thread; no clocks are compared across hosts).
Before a taken-over lock is used, the journal entries its holder wrote (those not in the journal
when it took the lock) are replayed and what a killed write left is swept: a half-done break is
put back, a fault a finished `break` left in place on purpose stays.
A lock that is not JSON (written by hand) is never taken over: the error says to delete it."""
from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from .errors import BreakfixError
from .journal import JOURNAL_SUFFIX
from .node import BACKUP_DIR, Node
from .targets import replay
from .waits import Observation, wait_until

LOCK_PATH = f"{BACKUP_DIR}/.lock"
HEARTBEAT = 10.0     # seconds between two refreshes of a held lock's mtime
EXPIRY = 90.0        # a lock from another host not refreshed for this long: its holder is gone


class LockHeld(BreakfixError):
    """Another writer holds the node's lock (exit 2: nothing changed)."""


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _pid_start(pid: int) -> str:
    """When PID started (clock ticks since boot, /proc/PID/stat field 22): a pid reused by another
    process has another start. "" when it does not run (or there is no /proc)."""
    stat = _read(f"/proc/{pid}/stat")
    return stat.rpartition(")")[2].split()[19] if stat else ""


def _host_key() -> str:
    """This machine as it runs now: host name, boot id and pid namespace (two containers with the
    same host name, or the same machine after a reboot, are not the same place for a pid)."""
    try:
        ns = os.readlink("/proc/self/ns/pid")
    except OSError:
        ns = ""
    return f"{_read('/proc/sys/kernel/random/boot_id')}/{ns}"


@dataclass
class Identity:
    """Where a process runs and how to ask whether a pid there still runs the same process."""
    host: str
    key: str
    pid: int
    pid_start: str
    alive: Callable[[int, str], bool] = field(repr=False, default=lambda pid, start: bool(start)
                                              and _pid_start(pid) == start)

    @classmethod
    def here(cls) -> "Identity":
        return cls(socket.gethostname(), _host_key(), os.getpid(), _pid_start(os.getpid()))


@dataclass
class Holder:
    holder: str                     # the user
    host: str
    pid: int
    command: str
    started: str                    # ISO 8601, the holder's clock
    host_key: str = ""              # boot id and pid namespace of the host (Identity.key)
    pid_start: str = ""
    token: str = ""
    journal: list[str] | None = None   # the journal entries when it took the lock (left on purpose)

    def line(self) -> str:
        return f"`{self.command}` (pid {self.pid} on {self.host}, user {self.holder}, since {self.started})"

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def parse(cls, raw: bytes) -> "Holder | None":
        try:
            data = json.loads(raw.decode("utf-8"))
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (UnicodeDecodeError, ValueError, TypeError):
            return None


def stale_reason(h: Holder, age: float, me: Identity, expiry: float = EXPIRY) -> str | None:
    """Why H's holder is proven gone (the rule in this module's docstring), or None."""
    if h.host == me.host and h.host_key and h.host_key == me.key:
        if me.alive(h.pid, h.pid_start):
            return None
        return f"pid {h.pid} no longer runs on {h.host}"
    if age > expiry:
        return f"not refreshed for {age:.0f}s (a holder refreshes it every {HEARTBEAT:.0f}s)"
    return None


class NodeLock:
    """The lock of NODE for one writer (COMMAND: how it was started, as the refusal names it)."""

    def __init__(self, node, command: str, path: str = LOCK_PATH, me: Identity | None = None,
                 heartbeat: float = HEARTBEAT, expiry: float = EXPIRY, clock: Callable[[], float] = time.monotonic,
                 pause: Callable[[float], None] = time.sleep):
        self.node, self.command, self.path = node, command, path
        self.me = me or Identity.here()
        self.heartbeat, self.expiry = heartbeat, expiry
        self.clock, self.pause = clock, pause
        self.held: bytes | None = None          # the lock file's content while we hold it
        self.took_over: tuple[Holder, str] | None = None   # (gone holder, why) when we took a stale lock
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    # --- reading ------------------------------------------------------------------------------
    def current(self) -> tuple[Holder | None, bytes, int, int] | None:
        """(holder or None when not a lock of ours, raw, mtime, age) of the lock file, None when free."""
        got = self.node.lock_read(self.path)
        if got is None:
            return None
        raw, mtime, age = got
        return Holder.parse(raw), raw, mtime, age

    def live_holder(self) -> tuple[Holder, str | None] | None:
        """(holder, why it is stale or None) of the lock, None when nobody holds it. A lock that
        is not JSON is held (by someone who wrote it by hand)."""
        cur = self.current()
        if cur is None:
            return None
        h, raw, _, age = cur
        if h is None:
            return Holder("?", "?", 0, f"an unreadable lock file {self.path}", "?"), None
        return h, stale_reason(h, age, self.me, self.expiry)

    # --- taking and giving back ---------------------------------------------------------------
    def acquire(self, wait: float = 0.0) -> "NodeLock":
        """Take the lock, waiting up to WAIT seconds for its holder to give it back (or to be
        proven gone: then it is taken over, see took_over). LockHeld names the holder otherwise."""
        self.node.make_private_dir(os.path.dirname(self.path))
        mine = Holder(getpass.getuser(), self.me.host, self.me.pid, self.command,
                      time.strftime("%Y-%m-%dT%H:%M:%S%z"), self.me.key, self.me.pid_start,
                      hashlib.sha256(os.urandom(16)).hexdigest()[:16])
        fatal: list[BaseException] = []
        seen: list[Holder] = []

        directory = os.path.dirname(self.path)

        def attempt() -> Observation:
            try:
                # Which journal entries are there as it is taken (only a holder writes entries: the
                # node checks the listing is unchanged as it creates the lock).
                for _ in range(5):     # a writer's entry landed in between: list again
                    mine.journal = self.node.list_files(directory, f"*{JOURNAL_SUFFIX}")
                    made = self.node.lock_create(self.path, mine.to_bytes(), (directory, f"*{JOURNAL_SUFFIX}",
                                                                              mine.journal))
                    if made is not None:
                        break
                if made:
                    self.held = mine.to_bytes()
                    return Observation(True, "taken")
                if made is None:
                    return Observation(False, "the journal changed while taking the lock")
                cur = self.current()
                if cur is None:
                    return Observation(False, "given back just now")
                h, raw, mtime, age = cur
                if h is None:
                    fatal.append(LockHeld(f"{self.node.spec}: {self.path} is not a kube-breakfix lock; nothing "
                                          f"changed: if no writer is running, delete it by hand"))
                    return Observation(True, "not a lock")
                seen[:] = [h]
                why = stale_reason(h, age, self.me, self.expiry)
                if why is None:
                    return Observation(False, f"held by {h.line()}")
                # What the gone holder found stays the entries left on purpose; what it wrote
                # itself is put back by the caller (replay_taken_over), or by whoever takes over next.
                mine.journal = h.journal if h.journal is not None else mine.journal
                if self.node.lock_swap(self.path, raw, mtime, mine.to_bytes()):
                    self.held, self.took_over = mine.to_bytes(), (h, why)
                    return Observation(True, f"taken over from {h.line()}: {why}")
                return Observation(False, f"taken by another writer while proving {h.line()} gone")
            except BreakfixError as exc:      # the node failed (disk full, unreachable): no retry
                fatal.append(exc)
                return Observation(True, str(exc))

        try:
            wait_until(attempt, f"the lock {self.path}", max(wait, 0.0), interval=1.0, clock=self.clock,
                       pause=self.pause)
        except BreakfixError as exc:
            if fatal:
                raise fatal[0] from None
            who = seen[0].line() if seen else "another writer"
            waited = f"waited {wait:g}s" if wait > 0 else "did not wait"
            raise LockHeld(f"{self.node.spec} is locked by {who}; {waited} (--wait-lock SECONDS waits); "
                           f"nothing changed") from exc
        if fatal:
            raise fatal[0]
        if self.heartbeat > 0:
            self._beat = threading.Thread(target=self._beating, name="breakfix-lock-heartbeat", daemon=True)
            self._beat.start()
        return self

    def beat(self) -> bool:
        """Refresh the lock's mtime (still ours: True)."""
        return bool(self.held) and self.node.lock_touch(self.path, self.held)

    def _beating(self) -> None:
        node = _own_transport(self.node)
        while not self._stop.wait(self.heartbeat):
            try:
                if not node.lock_touch(self.path, self.held):
                    return
            except Exception:  # noqa: BLE001 - the node away for a while (a restart): try again later
                continue

    def release(self) -> None:
        """Give the lock back (only if it is still ours)."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=60)
        if self.held is not None:
            held, self.held = self.held, None
            self.node.lock_swap(self.path, held, None, None)

    def __enter__(self) -> "NodeLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _own_transport(node):
    """The heartbeat's own connection to the node (a real Node's transport is not shared between
    threads); an in-memory node is itself."""
    if isinstance(node, Node):
        return Node(node.spec, sudo=node.sudo, default_timeout=node.default_timeout)
    return node


def replay_taken_over(journal, gone: Holder) -> list[str]:
    """After taking over GONE's lock: replay the journal entries GONE wrote (not in the journal
    when it took the lock), then sweep what a killed write left. Returns what was put back."""
    before = set(gone.journal or [])
    done = []
    if gone.journal is not None:
        for e in journal.entries():
            if journal._store(e) is journal and journal.path_of(e) not in before:   # the node's entries
                replay(journal, e)
                done.append(f"{e.fault}: {e.what()}")
    done += [f"removed {f}" for f in journal.sweep()]
    return done
