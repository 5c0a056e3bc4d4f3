"""Access to a node through testinfra (`docker://name`, `ssh://user@host`, `local://`).
Every remote command is bounded twice: by coreutils `timeout` on the node, and by a deadline on
the local transport process (`docker exec`, `ssh`), so a node that stops answering gives one line
naming it instead of a hang. Error text names what was done, never the data it carried.

SSH options are testinfra's own host-spec query parameters, e.g.
`ssh://grader@127.0.0.1:2222?ssh_identity_file=/keys/id_ed25519&ssh_config=/keys/ssh_config`
(`ssh_config` replaces ~/.ssh/config: UserKnownHostsFile, StrictHostKeyChecking, ...)."""
from __future__ import annotations

import base64
import hashlib
import os
import re
import shlex
import signal
import subprocess
from dataclasses import dataclass
from pathlib import PurePosixPath

from .errors import NodeUnreachable

MANIFEST_DIR = "/etc/kubernetes/manifests"
UNIT_STATES = ("active", "inactive", "failed", "activating", "deactivating", "reloading", "maintenance")
TMP_SUFFIX = ".breakfix-tmp"
# Node files that faults may change and that must be byte-identical after a run (and grading).
WATCHED_PATHS = ["/etc/kubernetes", "/var/lib/kubelet/config.yaml", "/var/lib/kubelet/kubeadm-flags.env", "/opt/cni/bin"]
BACKUP_DIR = "/var/lib/kube-breakfix/backups"   # outside the manifests dir: the kubelet never loads it


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


# Grace the local transport gets beyond the node-side `timeout` (connection set-up, `-k 5`).
TRANSPORT_GRACE = 20.0
_LONG_WORD = re.compile(r"\S{41,}")


def describe(cmd: str, limit: int = 120) -> str:
    """A command as error text may show it: long words (base64 payloads, keys, tokens) elided."""
    short = _LONG_WORD.sub(lambda m: f"<{len(m.group())} chars>", " ".join(cmd.split()))
    return short if len(short) <= limit else short[: limit - 3] + "..."


class TransportTimeout(Exception):
    pass


def _bounded_run_local(backend, deadline: float):
    """testinfra runs every backend's transport (`docker exec`, `ssh`, a local shell) through
    backend.run_local, which waits forever. This replacement kills the transport's process
    group once DEADLINE seconds have passed."""
    def run_local(command: str, *args: str):
        cmd = backend.encode(backend.quote(command, *args))
        p = subprocess.Popen(cmd, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            stdout, stderr = p.communicate(timeout=run_local.deadline)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            # Grandchildren in groups of their own (coreutils `timeout`) may still hold the pipes:
            # do not wait for them, only for the transport process itself.
            for pipe in (p.stdout, p.stderr):
                pipe.close()
            p.wait(timeout=10)
            raise TransportTimeout(f"no answer within {run_local.deadline:.0f}s") from None
        return backend.result(p.returncode, cmd, stdout, stderr)
    run_local.deadline = deadline
    return run_local


SSH_SCHEMES = ("ssh", "safe-ssh")
SSH_FILE_PARAMS = ("ssh_identity_file", "ssh_config")


def _check_ssh_files(spec: str) -> None:
    """An ssh:// spec naming a key or config file that is not there fails now, in one line (ssh
    itself would only warn and go on to a misleading "Permission denied")."""
    from testinfra.backend import parse_hostspec

    _, kw = parse_hostspec(spec)
    if kw.get("connection") not in SSH_SCHEMES:
        return
    for key in SSH_FILE_PARAMS:
        path = kw.get(key)
        if path is not None and not os.path.isfile(path):
            raise NodeUnreachable(f"node {spec}: {key} {path}: no such file")


def _ssh_failure(exc: RuntimeError) -> str | None:
    """testinfra's ssh backend raises RuntimeError(result) when ssh exits 255 (ssh's own failure:
    refused, host key, authentication). Its last stderr line says why; None for anything else."""
    res = exc.args[0] if exc.args else None
    if getattr(res, "exit_status", None) != 255:
        return None
    raw = getattr(res, "stderr_bytes", b"") or b""   # bytes: decoding text may ask the node its locale
    lines = [ln.strip() for ln in raw.decode("utf-8", "replace").splitlines() if ln.strip()]
    return f"ssh exited 255: {describe(lines[-1], 200) if lines else 'no message'}"


def tmp_path(path: str) -> str:
    """Where write_atomic stages PATH: a dot-file beside it (never loaded by the kubelet)."""
    p = PurePosixPath(path)
    return str(p.parent / f".{p.name}{TMP_SUFFIX}")


class Node:
    def __init__(self, spec: str, sudo: bool = False, default_timeout: float = 30.0):
        import testinfra  # imported here so pure-logic users of the engine don't need it

        self.spec = spec
        self.sudo = sudo
        self.default_timeout = default_timeout
        _check_ssh_files(spec)
        try:
            self.host = testinfra.get_host(spec, sudo=sudo)
        except Exception as exc:  # noqa: BLE001
            raise NodeUnreachable(f"node {spec}: cannot open: {exc}") from None
        self._run_local = _bounded_run_local(self.host.backend, default_timeout + TRANSPORT_GRACE)
        self.host.backend.run_local = self._run_local

    def __repr__(self) -> str:
        return f"Node({self.spec})"

    def sibling(self, name: str) -> "Node | None":
        """Another node of the same cluster over the same transport: a kind node is the Docker
        container of its name. None where a node name does not say how to reach it (ssh, local)."""
        if not self.spec.startswith("docker://"):
            return None
        if self.spec == f"docker://{name}":
            return self
        return Node(f"docker://{name}", sudo=self.sudo, default_timeout=self.default_timeout)

    def run(self, cmd: str, timeout: float | None = None) -> Result:
        t = int(timeout or self.default_timeout)
        wrapped = f"timeout -k 5 {t} sh -c {shlex.quote(cmd)}"
        self._run_local.deadline = t + TRANSPORT_GRACE
        try:
            out = self.host.run(wrapped)
        except TransportTimeout as exc:
            raise NodeUnreachable(f"node {self.spec}: stopped answering: {exc} ({describe(cmd, 60)})") from None
        except RuntimeError as exc:
            why = _ssh_failure(exc)
            if why is None:
                raise NodeUnreachable(f"node {self.spec}: {type(exc).__name__}: {describe(str(exc), 200)}") from None
            raise NodeUnreachable(f"node {self.spec}: not reachable: {why}") from None
        except Exception as exc:  # noqa: BLE001 - transport errors (docker gone, ssh refused)
            raise NodeUnreachable(f"node {self.spec}: {type(exc).__name__}: {describe(str(exc), 200)}") from None
        if out.rc == 124:
            out_stderr = (out.stderr or "") + f"\n(timed out after {t}s: {describe(cmd)})"
            return Result(124, out.stdout, out_stderr)
        return Result(out.rc, out.stdout, out.stderr)

    def check(self, cmd: str, timeout: float | None = None, what: str | None = None) -> str:
        """Run CMD; raise NodeUnreachable naming WHAT (or the elided command) when it fails."""
        r = self.run(cmd, timeout)
        if not r.ok:
            raise NodeUnreachable(f"node {self.spec}: {what or '`' + describe(cmd) + '`'} exited {r.rc}: "
                                  f"{describe(r.stderr.strip(), 300)}")
        return r.stdout

    def ping(self) -> None:
        """Prove the node answers and looks like a kubeadm node."""
        r = self.run("echo breakfix-ping", timeout=15)
        if not r.ok or "breakfix-ping" not in r.stdout:
            why = [ln for ln in (r.stderr or r.stdout).strip().splitlines() if ln.strip()]
            raise NodeUnreachable(f"node {self.spec}: not reachable: {why[-1][:300] if why else f'exit {r.rc}'}")
        r = self.run(f"test -d {MANIFEST_DIR} && echo ok", timeout=15)
        if not r.ok or "ok" not in r.stdout:
            raise NodeUnreachable(f"node {self.spec}: no {MANIFEST_DIR} (not a kubeadm control-plane node?)")

    # --- files -----------------------------------------------------------------------------
    def read_bytes(self, path: str) -> bytes:
        out = self.check(f"base64 -w0 {shlex.quote(path)}")
        return base64.b64decode(out.strip())

    def read_many(self, paths: list[str]) -> dict[str, bytes | None]:
        """The bytes of every file of PATHS in one command on the node; None for one that is not there."""
        if not paths:
            return {}
        script = "; ".join(f"if [ -f {shlex.quote(p)} ]; then printf '%s ' {i}; base64 -w0 {shlex.quote(p)}; echo; "
                           f"else echo {i} -; fi" for i, p in enumerate(paths))
        out: dict[str, bytes | None] = {p: None for p in paths}
        for line in self.check(script).splitlines():
            i, _, b64 = line.partition(" ")
            if i.isdigit() and int(i) < len(paths):
                out[paths[int(i)]] = None if b64 == "-" else base64.b64decode(b64)
        return out

    def exists(self, path: str) -> bool:
        return self.run(f"test -e {shlex.quote(path)}").ok

    def sha256(self, path: str) -> str:
        return self.check(f"sha256sum {shlex.quote(path)}").split()[0]

    def write_atomic(self, path: str, data: bytes, mode: str = "0600", before_rename=None) -> None:
        """Write next to PATH as a dot-file (the kubelet ignores names starting with a dot), then
        rename over PATH: the kubelet never sees a half-written manifest. A write killed between
        the two leaves only the dot-file (tmp_path(PATH)), which a journal replay removes."""
        if not re.fullmatch(r"0?[0-7]{3}", str(mode)):
            raise ValueError(f"bad file mode {mode!r}")
        tmp = tmp_path(path)
        b64 = base64.b64encode(data).decode()
        self.check(f"umask 077; printf %s {shlex.quote(b64)} | base64 -d > {shlex.quote(tmp)} && "
                   f"chmod {mode} {shlex.quote(tmp)}", what=f"writing {tmp}")
        if before_rename:
            before_rename()
        self.check(f"mv -f {shlex.quote(tmp)} {shlex.quote(path)}", what=f"renaming {tmp} to {path}")
        want = hashlib.sha256(data).hexdigest()
        got = self.sha256(path)
        if got != want:
            raise NodeUnreachable(f"node {self.spec}: wrote {path} but its sha256 is {got}, expected {want}")

    def copy_file(self, src: str, dst: str) -> None:
        """Copy SRC to DST keeping mode and times (a symlink stays a symlink), through DST.tmp then a
        rename."""
        q, d = shlex.quote(src), shlex.quote(dst)
        self.check(f"cp -pP {q} {d}.tmp && mv -f {d}.tmp {d}", what=f"copying {src} to {dst}")

    def restore_copy(self, src: str, dst: str) -> None:
        """Put SRC (a backup) back as DST on the node itself, whatever its size (no bytes through the
        transport): copied with mode and times (a symlink as a symlink) to DST's dot-file, then renamed
        over DST, so the kubelet never sees a half-written file."""
        tmp = tmp_path(dst)
        self.check(f"cp -pP {shlex.quote(src)} {shlex.quote(tmp)} && mv -f {shlex.quote(tmp)} {shlex.quote(dst)}",
                   what=f"restoring {dst} from {src}")

    def remove(self, *paths: str) -> None:
        if paths:
            self.check("rm -f " + " ".join(shlex.quote(p) for p in paths), what=f"removing {', '.join(paths)}")

    def make_private_dir(self, path: str) -> None:
        self.check(f"mkdir -p {shlex.quote(path)} && chmod 700 {shlex.quote(path)}", what=f"creating {path}")

    def list_files(self, directory: str, pattern: str = "*") -> list[str]:
        """Regular files directly in DIRECTORY whose names match PATTERN (a missing directory has
        none; a listing that fails raises: it is not an empty directory)."""
        d = shlex.quote(directory)
        out = self.check(f"test -d {d} || exit 0; find {d} -mindepth 1 -maxdepth 1 -type f -name {shlex.quote(pattern)}",
                         what=f"listing {directory}")
        return sorted(out.split())

    def list_files_under(self, directory: str) -> list[str]:
        """Every regular file below DIRECTORY (none when it does not exist)."""
        d = shlex.quote(directory)
        return sorted(self.check(f"test -d {d} || exit 0; find {d} -type f", what=f"listing {directory}").split())

    def delete_matching(self, directories: list[str], pattern: str, depth: int = 3) -> list[str]:
        """Delete regular files named PATTERN under DIRECTORIES (to DEPTH); returns their paths."""
        ds = " ".join(shlex.quote(d) for d in directories)
        out = self.check(f"for d in {ds}; do test -d \"$d\" && find \"$d\" -maxdepth {int(depth)} -type f "
                         f"-name {shlex.quote(pattern)} -print -delete; done; true", what=f"removing {pattern}")
        return out.split()

    def file_mode(self, path: str) -> str:
        return self.check(f"stat -c %a {shlex.quote(path)}").strip()

    def checksums(self, paths: list[str]) -> dict[str, str]:
        """sha256 of every regular file under the given paths (files or directories), and for every
        symlink `symlink:` and its target (a link replaced by a copy of its file is a change)."""
        quoted = " ".join(shlex.quote(p) for p in paths)
        out = self.check(f"find {quoted} -type f 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum", timeout=60)
        sums = {}
        for line in out.splitlines():
            digest, _, name = line.partition("  ")
            if name:
                sums[name] = digest
        links = self.check(f"find {quoted} -type l -printf '%p\\t%l\\n' 2>/dev/null; true", timeout=60)
        for line in links.splitlines():
            name, _, target = line.partition("\t")
            if name:
                sums[name] = f"symlink:{target}"
        return sums

    # --- the writers' lock (breakfix/lock.py) ------------------------------------------------
    # Every change of the lock file runs as one command under `flock` on a guard file beside it, so
    # "create when absent" and "replace only what I read" are atomic on the node whoever runs them
    # (each node command is its own `docker exec` or ssh connection: no process holds a lock between
    # two commands, the lock file itself is the lock).
    def _under_guard(self, path: str, body: str, what: str) -> bool | None:
        """Run BODY (shell) holding the guard of PATH; True on exit 0, False on exit 3 (the
        condition did not hold), None on exit 5 (the files it was to find unchanged changed),
        NodeUnreachable naming WHAT on anything else."""
        # Beside PATH's directory, not in it: the journal's directory stays empty once all is put back.
        d = PurePosixPath(path).parent
        guard = str(d.parent / f".{d.name}{PurePosixPath(path).name}.guard")
        r = self.run(f"exec 9>>{shlex.quote(guard)} && flock -w 20 9 || exit 4\n{body}", timeout=40)
        if r.rc in (0, 3, 5):
            return {0: True, 3: False, 5: None}[r.rc]
        why = describe(r.stderr.strip(), 300) or f"exit {r.rc}"
        raise NodeUnreachable(f"node {self.spec}: {what} failed: {why}")

    def _put(self, path: str, data: bytes) -> str:
        tmp = shlex.quote(tmp_path(path))
        b64 = base64.b64encode(data).decode()
        return (f"{{ umask 077; printf %s {shlex.quote(b64)} | base64 -d > {tmp} && mv -f {tmp} {shlex.quote(path)}; }} "
                f"|| {{ rc=$?; rm -f {tmp}; exit $rc; }}")

    def lock_create(self, path: str, data: bytes, same_files: tuple[str, str, list[str]] | None = None) -> bool | None:
        """Write DATA as PATH only if PATH does not exist (False: it does) and, with SAME_FILES
        (directory, name pattern, files), only if list_files(directory, pattern) is still those
        files (None: it is not)."""
        q = shlex.quote(path)
        check = ""
        if same_files is not None:
            d, pattern, files = same_files
            check = (f"[ \"$(find {shlex.quote(d)} -mindepth 1 -maxdepth 1 -type f -name {shlex.quote(pattern)} "
                     f"| LC_ALL=C sort)\" = {shlex.quote(chr(10).join(sorted(files)))} ] || exit 5\n")
        return self._under_guard(path, f"test -e {q} && exit 3\n{check}{self._put(path, data)}", f"creating {path}")

    def lock_read(self, path: str) -> tuple[bytes, int, int] | None:
        """(content, mtime, seconds since mtime by the node's clock) of PATH, None when it is absent."""
        q = shlex.quote(path)
        r = self.run(f"test -e {q} || exit 3; stat -c %Y {q} && date +%s && base64 -w0 {q}")
        if r.rc == 3:
            return None
        if not r.ok:
            raise NodeUnreachable(f"node {self.spec}: reading {path} exited {r.rc}: {describe(r.stderr.strip(), 300)}")
        mtime, now, *b64 = r.stdout.split()
        return base64.b64decode("".join(b64)), int(mtime), int(now) - int(mtime)

    def lock_swap(self, path: str, expect: bytes, mtime: int | None, data: bytes | None) -> bool:
        """Replace PATH by DATA (remove it when None) only if it still holds EXPECT (and was last
        written at MTIME, when given); False when it does not."""
        q = shlex.quote(path)
        test = (f"test -e {q} || exit 3\n[ \"$(sha256sum < {q} | cut -c1-64)\" = {hashlib.sha256(expect).hexdigest()} ] "
                f"|| exit 3\n")
        if mtime is not None:
            test += f"[ \"$(stat -c %Y {q})\" = {int(mtime)} ] || exit 3\n"
        act = self._put(path, data) if data is not None else f"rm -f {q}"
        return self._under_guard(path, test + act, f"replacing {path}")

    def lock_touch(self, path: str, expect: bytes) -> bool:
        """Refresh PATH's mtime (a heartbeat) only if it still holds EXPECT."""
        q = shlex.quote(path)
        return self._under_guard(path, f"test -e {q} || exit 3\n[ \"$(sha256sum < {q} | cut -c1-64)\" = "
                                       f"{hashlib.sha256(expect).hexdigest()} ] || exit 3\ntouch {q}",
                                 f"refreshing {path}")

    # --- services and containers -------------------------------------------------------------
    def unit_state(self, unit: str) -> str:
        """systemd's ActiveState of UNIT, or "unknown" when it could not be read (which proves
        nothing: callers must not take "unknown" for "not active")."""
        state = self.run(f"systemctl is-active {shlex.quote(unit)}").stdout.strip()
        return state if state in UNIT_STATES else "unknown"

    def systemctl(self, action: str, unit: str) -> None:
        self.check(f"systemctl {shlex.quote(action)} {shlex.quote(unit)}", timeout=60, what=f"systemctl {action} {unit}")

    def journal(self, unit: str, since: str | None = None, lines: int = 200) -> str:
        s = f" --since {shlex.quote(since)}" if since else ""
        return self.run(f"journalctl -u {shlex.quote(unit)} --no-pager -o short-precise -n {lines}{s}",
                        timeout=30).stdout

    def now(self) -> str:
        return self.check("date '+%Y-%m-%d %H:%M:%S'").strip()

    def running_container(self, name: str) -> str | None:
        """The id of the newest running container called NAME (a static pod's), or None."""
        r = self.crictl(f"ps --state running --name {shlex.quote('^' + name + '$')} -q")
        ids = (r.stdout or "").split() if r.ok else []
        return ids[0] if ids else None

    def restart_static_container(self, name: str, grace: int = 30) -> None:
        """Stop the running container called NAME gracefully (SIGTERM, then GRACE seconds): the
        kubelet starts a new one, which reads its files again. A leader-elected component releases
        its lease on the way out."""
        cid = self.running_container(name)
        if cid:
            self.crictl(f"stop --timeout {int(grace)} {shlex.quote(cid)}", timeout=grace + 30)

    def crictl(self, args: str, timeout: float = 30) -> Result:
        return self.run(f"crictl {args}", timeout=timeout)
