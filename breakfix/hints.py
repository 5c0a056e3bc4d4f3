"""A lab step's hints, given one at a time (`breakfix lab hint LAB --step N`).

Which hints a learner has asked for is kept on the machine the learner types on (not on the node:
grading stays read-only there), in one small file per cluster and step:

    ${XDG_CACHE_HOME:-~/.cache}/kube-breakfix/hints/<cluster>/<lab>-<step>

<cluster> names the cluster the way the command line was given it: `kind-NAME` for `--cluster NAME`,
the node's host spec for `--node`, else `default`. The file lists the numbers of the hints given, one
a line. `lab check` (learner mode) shows those hints again; `lab setup` of the step and `lab reset
LAB` forget them (a new attempt starts without hints)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


def hints_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kube-breakfix" / "hints"


def cluster_key(args) -> str:
    """The cluster as the command line named it (the same options give the same key)."""
    cluster = getattr(args, "cluster", None)
    node = getattr(args, "node", None)
    kubeconfig = getattr(args, "kubeconfig", None)
    if cluster and not node:
        raw = f"kind-{cluster}"
    elif node:
        raw = node
    elif kubeconfig:
        raw = "kubeconfig-" + str(Path(kubeconfig).resolve())
    else:
        raw = "default"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("._-") or "default"


@dataclass
class HintState:
    lab: str
    step: int
    cluster: str = "default"
    root: Path | None = None

    @property
    def path(self) -> Path:
        return (self.root or hints_root()) / self.cluster / f"{self.lab}-{self.step}"

    def given(self) -> list[int]:
        """The numbers of the hints given so far (1-based, in the order given, each once)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return []
        out: list[int] = []
        for line in text.split():
            if line.isdigit() and int(line) >= 1 and int(line) not in out:
                out.append(int(line))
        return out

    def give(self, number: int) -> None:
        """Record hint NUMBER as given (OSError when the file cannot be written)."""
        given = self.given()
        if number in given:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(f"{n}\n" for n in [*given, number]), encoding="utf-8")
        tmp.replace(self.path)

    def forget(self) -> bool:
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False


def forget_lab(lab: str, cluster: str, root: Path | None = None) -> list[Path]:
    """Forget the hints of every step of LAB on CLUSTER; returns the files removed."""
    d = (root or hints_root()) / cluster
    removed = []
    for p in sorted(d.glob(f"{lab}-*")) if d.is_dir() else []:
        if p.name[len(lab) + 1:].isdigit():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def next_number(hints: tuple[str, ...] | list[str], given: list[int]) -> int | None:
    """The first hint not given yet, or None when every hint was given."""
    return next((n for n in range(1, len(hints) + 1) if n not in given), None)


def given_hints(hints: tuple[str, ...] | list[str], given: list[int]) -> list[tuple[int, str]]:
    """(number, text) of the hints given, in the step's order (numbers the step no longer has left out)."""
    return [(n, hints[n - 1]) for n in sorted(given) if 1 <= n <= len(hints)]
