"""The journal on the node: what a fault is about to change and how to undo it, written before
the change (backup, then journal entry), and replayed by one piece of code whether the undo comes
from the test that made the change, from `breakfix restore`, or from the next run after a hard
kill. A journal that cannot be replayed faithfully is never reported as restored: the entry stays
and the error says what the operator has to do."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .errors import BreakfixError
from .killpoints import killpoint
from .node import BACKUP_DIR, TMP_SUFFIX, Node, tmp_path

JOURNAL_SUFFIX = ".breakfix.json"
# Where write_atomic may have left a dot-file when it was killed mid-way.
TMP_SWEEP_DIRS = ("/etc/kubernetes", "/var/lib/kubelet", BACKUP_DIR)


class JournalError(BreakfixError):
    """A journal entry that cannot be replayed as written: the fault may still be in place."""


@dataclass
class Entry:
    fault: str
    path: str | None = None          # node file the fault changes
    backup: str | None = None        # its copy, outside the manifests directory
    sha256: str | None = None        # of the original bytes
    mode: str | None = None          # of the original file
    restart_unit: str | None = None  # restart after putting the file back (a node-file fault)
    start_unit: str | None = None    # start again (a service fault)

    @property
    def file(self) -> str:
        return journal_path(self.fault)

    def what(self) -> str:
        return self.path or f"systemctl start {self.start_unit}"


def journal_path(fault_id: str) -> str:
    return f"{BACKUP_DIR}/{fault_id}{JOURNAL_SUFFIX}"


def backup_path(path: str) -> str:
    return f"{BACKUP_DIR}/{path.strip('/').replace('/', '__')}"


def parse_entry(raw: bytes, where: str) -> Entry:
    """An entry from its JSON text; JournalError (one line, naming the file) when it is not one."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JournalError(f"journal {where} is corrupt ({type(exc).__name__}: {str(exc)[:80]}); the fault it "
                           f"records may still be in place: compare its target with the backups in {BACKUP_DIR}, "
                           f"put the original back by hand, then delete {where}") from None
    fields = set(Entry.__dataclass_fields__)
    if not isinstance(data, dict) or not isinstance(data.get("fault"), str) or set(data) - fields:
        raise JournalError(f"journal {where} is not a kube-breakfix journal entry (fields {sorted(fields)}); "
                           f"nothing was restored from it")
    for k, v in data.items():
        if v is not None and not isinstance(v, str):
            raise JournalError(f"journal {where}: field {k!r} must be a string, got {type(v).__name__}")
    entry = Entry(**data)
    if bool(entry.path) != bool(entry.backup) or (entry.path and not entry.sha256):
        raise JournalError(f"journal {where}: a changed file needs path, backup and sha256 together")
    if entry.file != where:
        raise JournalError(f"journal {where} names fault {entry.fault!r}, whose journal is {entry.file}")
    return entry


class Journal:
    def __init__(self, node: Node):
        self.node = node

    # --- before the change ---------------------------------------------------------------------
    def record(self, entry: Entry) -> Entry:
        """Back the file up (verified copy), then write the journal entry. Nothing is changed
        on the node's configuration yet: that is the caller's next step, after registering the
        restore."""
        n = self.node
        n.make_private_dir(BACKUP_DIR)
        if entry.path:
            entry.backup = backup_path(entry.path)
            n.copy_file(entry.path, entry.backup)
            got = n.sha256(entry.backup)
            if got != entry.sha256:
                raise JournalError(f"backup {entry.backup} of {entry.path} has sha256 {got}, expected {entry.sha256}; "
                                   f"nothing changed")
            killpoint("after-backup")
        n.write_atomic(entry.file, json.dumps(asdict(entry)).encode())
        killpoint("after-journal")
        return entry

    # --- reading --------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        """Every journal entry on the node. A listing that fails raises (a failed read is not an
        empty journal); a corrupt entry raises JournalError naming it."""
        return [parse_entry(self.node.read_bytes(f), f) for f in self.node.list_files(BACKUP_DIR, f"*{JOURNAL_SUFFIX}")]

    # --- undo -----------------------------------------------------------------------------------
    def replay(self, entry: Entry) -> None:
        """Put back what ENTRY changed; remove the entry only when that is proven (sha256)."""
        n = self.node
        if entry.path:
            if not n.exists(entry.backup):
                now = n.sha256(entry.path) if n.exists(entry.path) else "(file missing)"
                if now == entry.sha256:   # killed after the restore, before the journal was removed
                    self._finish(entry)
                    return
                raise JournalError(
                    f"{entry.fault}: backup {entry.backup} of {entry.path} is missing and the file differs from "
                    f"the original (sha256 now {now[:12]}, before {entry.sha256[:12]}); nothing restored, journal "
                    f"{entry.file} kept: put the original {entry.path} back by hand (from your own copy or "
                    f"`kubeadm init phase`), then delete the journal")
            got = n.sha256(entry.backup)
            if got != entry.sha256:
                raise JournalError(
                    f"{entry.fault}: backup {entry.backup} has sha256 {got[:12]}, the journal expects "
                    f"{entry.sha256[:12]}; nothing restored, journal {entry.file} kept: check the backup and put "
                    f"{entry.path} back by hand, then delete the journal")
            if not n.exists(entry.path) or n.sha256(entry.path) != entry.sha256:
                n.write_atomic(entry.path, n.read_bytes(entry.backup), mode=entry.mode or n.file_mode(entry.backup))
            if n.sha256(entry.path) != entry.sha256:
                raise JournalError(f"{entry.fault}: {entry.path} does not match its backup after the restore; "
                                   f"journal {entry.file} kept")
            n.remove(tmp_path(entry.path))
        killpoint("during-restore")
        self._finish(entry)

    def _finish(self, entry: Entry) -> None:
        """The file is as it was: bring the unit back, then drop the backup and the entry."""
        if entry.restart_unit:
            killpoint("during-unit-restart")
            self.node.systemctl("restart", entry.restart_unit)
        if entry.start_unit:
            self.node.systemctl("start", entry.start_unit)
        self.node.remove(*[p for p in (entry.backup, entry.file) if p])

    def sweep(self) -> list[str]:
        """Remove what a write killed mid-way leaves behind: kube-breakfix's own dot-files, and
        backups with no journal entry whose file is unchanged (the change never happened). Returns
        what it removed. A backup without a journal whose file *differs* is kept and reported."""
        n = self.node
        removed = n.delete_matching(list(TMP_SWEEP_DIRS), f".*{TMP_SUFFIX}")
        journaled = {e.backup for e in self.entries()}
        for b in n.list_files(BACKUP_DIR):
            if b in journaled or b.endswith(JOURNAL_SUFFIX) or b.rpartition("/")[2].startswith("."):
                continue
            target = "/" + b[len(BACKUP_DIR) + 1:].removesuffix(".tmp").replace("__", "/")
            if b.endswith(".tmp") or (n.exists(target) and n.sha256(target) == n.sha256(b)):
                n.remove(b)
                removed.append(b)
            else:
                raise JournalError(f"backup {b} has no journal entry and differs from {target}; kept: compare them "
                                   f"and delete the backup by hand")
        return removed
