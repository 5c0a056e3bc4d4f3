"""An in-memory node for the engine's own logic (journal, order of steps): files, modes and units,
with every call logged. Cluster behaviour is never faked here: only the node's file system."""
from __future__ import annotations

import fnmatch
import hashlib
import posixpath

from breakfix.errors import NodeUnreachable
from breakfix.node import tmp_path


class FakeNode:
    spec = "fake://node"

    def __init__(self, files: dict[str, bytes] | None = None):
        self.files: dict[str, tuple[bytes, str]] = {p: (b, "600") for p, b in (files or {}).items()}
        self.units: dict[str, str] = {"kubelet": "active"}
        self.calls: list[tuple] = []
        self.fail_on: set[str] = set()      # method names that raise NodeUnreachable
        self.clock = 1_000_000              # the node's clock (seconds), for files' mtimes
        self.mtimes: dict[str, int] = {}

    def _log(self, *call):
        self.calls.append(call)
        if call[0] in self.fail_on:
            raise NodeUnreachable(f"node {self.spec}: {call[0]} failed")

    # files
    def read_bytes(self, path):
        self._log("read_bytes", path)
        if path not in self.files:
            raise NodeUnreachable(f"node {self.spec}: no such file {path}")
        return self.files[path][0]

    def exists(self, path):
        return path in self.files

    def sha256(self, path):
        if path not in self.files:
            raise NodeUnreachable(f"node {self.spec}: no such file {path}")
        return hashlib.sha256(self.files[path][0]).hexdigest()

    def file_mode(self, path):
        return self.files[path][1]

    def write_atomic(self, path, data, mode="600", before_rename=None):
        self._log("write_atomic", path)
        tmp = tmp_path(path)
        self.files[tmp] = (bytes(data), str(mode))
        if before_rename:
            before_rename()
        self.files[path] = self.files.pop(tmp)

    def copy_file(self, src, dst):
        self._log("copy_file", src, dst)
        self.files[dst] = self.files[src]

    def restore_copy(self, src, dst):
        self._log("restore_copy", src, dst)
        self.files[dst] = self.files[src]

    def remove(self, *paths):
        self._log("remove", *paths)
        for p in paths:
            self.files.pop(p, None)

    def make_private_dir(self, path):
        self._log("make_private_dir", path)

    def list_files(self, directory, pattern="*"):
        self._log("list_files", directory)
        return sorted(p for p in self.files if posixpath.dirname(p) == directory
                      and fnmatch.fnmatch(posixpath.basename(p), pattern))

    def list_files_under(self, directory):
        return sorted(p for p in self.files if p.startswith(directory.rstrip("/") + "/"))

    def delete_matching(self, directories, pattern, depth=3):
        gone = [p for p in self.files if any(p.startswith(d.rstrip("/") + "/") for d in directories)
                and fnmatch.fnmatch(posixpath.basename(p), pattern)]
        for p in gone:
            del self.files[p]
        return sorted(gone)

    # the writers' lock (Node.lock_*: one command under flock on a real node)
    def lock_read(self, path):
        self._log("lock_read", path)
        if path not in self.files:
            return None
        m = self.mtimes.get(path, self.clock)
        return self.files[path][0], m, self.clock - m

    def lock_create(self, path, data, same_files=None):
        self._log("lock_create", path)
        if path in self.files:
            return False
        if same_files is not None and self.list_files(same_files[0], same_files[1]) != sorted(same_files[2]):
            return None
        self.files[path], self.mtimes[path] = (bytes(data), "600"), self.clock
        return True

    def lock_swap(self, path, expect, mtime, data):
        self._log("lock_swap", path)
        if path not in self.files or self.files[path][0] != expect or (
                mtime is not None and self.mtimes.get(path, self.clock) != mtime):
            return False
        if data is None:
            del self.files[path]
        else:
            self.files[path], self.mtimes[path] = (bytes(data), "600"), self.clock
        return True

    def lock_touch(self, path, expect):
        self._log("lock_touch", path)
        if self.files.get(path, (None,))[0] != expect:
            return False
        self.mtimes[path] = self.clock
        return True

    # units
    def systemctl(self, action, unit):
        self._log("systemctl", action, unit)
        self.units[unit] = {"start": "active", "restart": "active", "stop": "inactive"}[action]

    def unit_state(self, unit):
        return self.units.get(unit, "unknown")
