"""The journal on the node: what a fault is about to change and how to undo it, written before
the change (backup, then journal entry), and replayed by one piece of code whether the undo comes
from the test that made the change, from `breakfix restore`, or from the next run after a hard
kill. A journal that cannot be replayed faithfully is never reported as restored: the entry stays
and the error says what the operator has to do."""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import typing
from dataclasses import dataclass
from pathlib import Path

from .errors import BreakfixError
from .killpoints import killpoint
from .node import BACKUP_DIR, TMP_SUFFIX, Node, tmp_path
from .targets_spec import HOST_KINDS, TARGET_KINDS, JournalRecord

JOURNAL_SUFFIX = ".breakfix.json"
# Where write_atomic may have left a dot-file when it was killed mid-way.
TMP_SWEEP_DIRS = ("/etc/kubernetes", "/var/lib/kubelet", "/opt/cni/bin", BACKUP_DIR)


class JournalError(BreakfixError):
    """A journal entry that cannot be replayed as written: the fault may still be in place."""


# A journal entry on disk is one flat JSON object: `fault`, `kind` and the fields of every target kind's
# record, null where they are not its own, in the order older versions wrote (and still read); the
# fields of a kind added since follow them.
LAYOUT = ("fault", "path", "backup", "sha256", "mode", "restart_unit", "restart_static_pod", "start_unit", "kind",
          "created", "objects", "container")
TYPE_NAMES = {str: "string", dict: "mapping"}


def record_type(kind: str | None, fields: dict) -> type[JournalRecord]:
    """The record an entry of KIND holds; KIND None is an older entry: a node file when it names a
    path, else a service."""
    return TARGET_KINDS[kind_of(kind, fields)].journal


def kind_of(kind: str | None, fields: dict) -> str:
    return kind or ("file" if fields.get("path") else "service")


@functools.cache
def record_fields() -> dict[str, type]:
    """Every field any kind's record has, with its type (str or dict, a value may always be null)."""
    out: dict[str, type] = {}
    for spec in TARGET_KINDS.values():
        hints = typing.get_type_hints(spec.journal)
        for f in dataclasses.fields(spec.journal):
            out[f.name] = next(t for t in typing.get_args(hints[f.name]) if t is not type(None))
    return out


@dataclass(init=False)
class Entry:
    """One journal entry: the fault, its target kind (None: an older entry, a node file or a service
    by its fields) and the kind's record (targets_spec: TARGET_KINDS[kind].journal), whose fields
    read as the entry's own (entry.path, entry.objects). Entry(fault=..., kind=..., path=...) makes
    the kind's record from the fields given."""
    fault: str
    kind: str | None
    record: JournalRecord

    def __init__(self, fault: str, kind: str | None = None, record: JournalRecord | None = None, **fields):
        object.__setattr__(self, "fault", fault)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "record", record if record is not None else record_type(kind, fields)(**fields))

    def __getattr__(self, name: str):
        if name.startswith("__") or name in ("fault", "kind", "record"):   # not set yet: no record to ask
            raise AttributeError(name)
        return getattr(self.record, name)

    def __setattr__(self, name: str, value) -> None:
        object.__setattr__(self, name, value) if name in ("fault", "kind", "record") else \
            setattr(self.record, name, value)

    @property
    def target_kind(self) -> str:
        """The kind whose undo replays it (an older entry's by its fields)."""
        return kind_of(self.kind, dataclasses.asdict(self.record))

    @property
    def file(self) -> str:
        return journal_path(self.fault)

    def what(self) -> str:
        return self.record.what()

    def as_dict(self) -> dict:
        """The entry as written on disk (LAYOUT)."""
        out = dict.fromkeys(LAYOUT)
        out.update(dataclasses.asdict(self.record), fault=self.fault, kind=self.kind)
        for name in record_fields():
            out.setdefault(name, None)
        return out


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
    known = record_fields()
    if not isinstance(data, dict) or not isinstance(data.get("fault"), str) or set(data) - {"fault", "kind", *known}:
        raise JournalError(f"journal {where} is not a kube-breakfix journal entry (fields "
                           f"{sorted({'fault', 'kind', *known})}); nothing was restored from it")
    kind = data.get("kind")
    if kind is not None and (not isinstance(kind, str) or kind not in TARGET_KINDS):
        raise JournalError(f"journal {where}: unknown target kind {kind!r} (known: {', '.join(TARGET_KINDS)}); "
                           f"nothing was restored from it")
    for k, v in data.items():
        want = known.get(k, str)
        if v is not None and not isinstance(v, want):
            raise JournalError(f"journal {where}: field {k!r} must be a {TYPE_NAMES.get(want, want.__name__)}, "
                               f"got {type(v).__name__}; nothing was restored from it")
    fields = {k: v for k, v in data.items() if k not in ("fault", "kind")}
    rtype = record_type(kind, fields)
    own = {f.name for f in dataclasses.fields(rtype)}
    foreign = sorted(k for k, v in fields.items() if k not in own and v is not None)
    if foreign:
        raise JournalError(f"journal {where}: field {foreign[0]!r} is not one of a {kind_of(kind, fields)} entry's "
                           f"({', '.join(sorted(own))}); nothing was restored from it")
    entry = Entry(data["fault"], kind, rtype(**{k: v for k, v in fields.items() if k in own}))
    why = entry.record.problem()
    if why:
        raise JournalError(f"journal {where}: {why}; nothing was restored from it")
    if entry.file != where:
        raise JournalError(f"journal {where} names fault {entry.fault!r}, whose journal is {entry.file}")
    return entry


class Journal:
    """NODE's journal (BACKUP_DIR on the node); HOST: the journal of what is no node's (a container
    on the host), kept in a directory of this machine; KUBE: the API, for the undo of an API object
    (None: such an entry cannot be replayed and says so)."""

    def __init__(self, node: Node, kube=None, host: "Journal | None" = None, directory: str = BACKUP_DIR,
                 owner: str | None = None):
        self.node, self.kube, self.directory = node, kube, directory
        self.owner = owner           # host store: only entries whose container starts with this
        self.host = host

    def path_of(self, entry: Entry) -> str:
        return f"{self.directory}/{entry.fault}{JOURNAL_SUFFIX}" if self.directory != BACKUP_DIR else entry.file

    def _store(self, entry: Entry) -> "Journal":
        if entry.kind in HOST_KINDS and self.host is not None:
            return self.host
        return self

    # --- before the change ---------------------------------------------------------------------
    def record(self, entry: Entry) -> Entry:
        """Back the file up (verified copy), then write the journal entry. Nothing is changed
        on the node's configuration yet: that is the caller's next step, after registering the
        restore."""
        store = self._store(entry)
        if store is not self:
            return store.record(entry)
        n = self.node
        n.make_private_dir(self.directory)
        written = []
        try:
            original = entry.record.backs_up()
            if original:
                entry.backup = backup_path(original)
                written += [entry.backup + ".tmp", entry.backup]
                n.copy_file(original, entry.backup)
                got = n.sha256(entry.backup)
                if got != entry.sha256:
                    raise JournalError(f"backup {entry.backup} of {original} has sha256 {got}, expected "
                                       f"{entry.sha256}; nothing changed")
                killpoint("after-backup")
            why = entry.record.problem()
            if why:     # what could not be replayed is not written (and nothing is changed)
                raise JournalError(f"{entry.fault}: its journal entry is incomplete ({why}); nothing changed")
            written += [tmp_path(self.path_of(entry)), self.path_of(entry)]
            n.write_atomic(self.path_of(entry), json.dumps(entry.as_dict()).encode())
        except BreakfixError as exc:
            # A backup or journal that cannot be written (a full disk, the node away): nothing is
            # changed, and what was half written goes (the sweep would remove it otherwise).
            with contextlib.suppress(BreakfixError):
                n.remove(*written)
            if isinstance(exc, JournalError):
                raise
            what = (f"the backup of {entry.record.backs_up()}" if entry.backup and written[-1] == entry.backup
                    else "the journal entry")
            why = "no space left on the device" if "No space left" in str(exc) else str(exc)[:240]
            raise JournalError(f"{entry.fault}: {what} could not be written in {self.directory} on {n.spec} "
                               f"({why}); nothing changed") from None
        killpoint("after-journal")
        return entry

    # --- reading --------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        """Every journal entry on the node. A listing that fails raises (a failed read is not an
        empty journal); a corrupt entry raises JournalError naming it."""
        out = []
        for f in self.node.list_files(self.directory, f"*{JOURNAL_SUFFIX}"):
            e = parse_entry(self.node.read_bytes(f), f if self.directory == BACKUP_DIR else journal_path(
                f.rpartition("/")[2].removesuffix(JOURNAL_SUFFIX)))
            if self.owner is None or e.record.owned_by(self.owner):
                out.append(e)
        if self.host is not None:
            out += self.host.entries()
        return out

    # --- undo (each target kind's undo, targets.replay, uses these) ---------------------------------
    def restore_file(self, entry: Entry) -> None:
        """The original bytes and mode of entry.path back from the backup, proven by sha256."""
        n = self.node
        if entry.path:
            if not n.exists(entry.backup):
                now = n.sha256(entry.path) if n.exists(entry.path) else "(file missing)"
                if now == entry.sha256:   # killed after the restore, before the journal was removed
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
                n.restore_copy(entry.backup, entry.path)
            if n.sha256(entry.path) != entry.sha256:
                raise JournalError(f"{entry.fault}: {entry.path} does not match its backup after the restore; "
                                   f"journal {entry.file} kept")
            n.remove(tmp_path(entry.path))

    def remove_created(self, entry: Entry) -> None:
        """The file entry.path did not exist before: delete it (and a half-written copy), prove it gone."""
        n = self.node
        n.remove(entry.path, tmp_path(entry.path))
        if n.exists(entry.path):
            raise JournalError(f"{entry.fault}: {entry.path} (made by the fault) is still there after removing it; "
                               f"journal {entry.file} kept")

    def finish(self, entry: Entry) -> None:
        """The target is as it was (its kind's undo has put it back and brought its unit back): drop
        the backup and the entry."""
        self.node.remove(*[p for p in (entry.backup, self.path_of(entry)) if p])

    def sweep(self) -> list[str]:
        """Remove what a write killed mid-way leaves behind: kube-breakfix's own dot-files, and
        backups with no journal entry whose file is unchanged (the change never happened). Returns
        what it removed. A backup without a journal whose file *differs* is kept and reported."""
        n = self.node
        removed = n.delete_matching(list(TMP_SWEEP_DIRS), f".*{TMP_SUFFIX}")
        journaled = {e.backup for e in self.entries() if e.backup}
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


HOST_JOURNAL_DIR = os.environ.get("BREAKFIX_HOST_JOURNAL") or str(Path.home() / ".local/state/kube-breakfix/journal")


class LocalFiles:
    """The file operations a Journal uses, on this machine (the host's journal: what is no node's)."""
    spec = "local://"

    def make_private_dir(self, path: str) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)

    def write_atomic(self, path: str, data: bytes, mode: str = "0600", before_rename=None) -> None:
        tmp = Path(path).with_name("." + Path(path).name + ".tmp")
        tmp.write_bytes(data)
        os.chmod(tmp, int(str(mode), 8))
        if before_rename:
            before_rename()
        os.replace(tmp, path)

    def read_bytes(self, path: str) -> bytes:
        return Path(path).read_bytes()

    def list_files(self, directory: str, pattern: str = "*") -> list[str]:
        d = Path(directory)
        return sorted(str(p) for p in d.glob(pattern) if p.is_file()) if d.is_dir() else []

    def exists(self, path: str) -> bool:
        return Path(path).exists()

    def remove(self, *paths: str) -> None:
        for p in paths:
            Path(p).unlink(missing_ok=True)


def host_journal(owner: str | None, directory: str | None = None) -> Journal:
    """The host's journal, restricted to the entries of OWNER (a kind cluster's name)."""
    return Journal(LocalFiles(), directory=directory or HOST_JOURNAL_DIR, owner=owner)
