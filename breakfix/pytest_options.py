"""The suite's command-line options, as a pytest plugin loaded from the `pytest11` entry point
(pyproject.toml), so they are known as soon as pytest loads its plugins, before any conftest.py.
pytest-kind-ng (also an entry point) provides --cluster-name, --keep-cluster, --kubeconfig,
--kind-image, --kind-bin and --kind-kubectl-bin; these are the rest. Their values are checked at
configure time by fixtures/inputs.py.

It also keeps the rootdir where it belongs when an option's value follows after a space
(`--kubeconfig /tmp/x/kc`): see `pytest_load_initial_conftests` below."""
from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest

from .pace import DEFAULT_PACE, PACES

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    g = parser.getgroup("kube-breakfix")
    g.addoption("--node", default=None,
                help="testinfra host spec of the control-plane node (docker://NAME, ssh://user@host, local://). "
                     "With --kubeconfig: test an existing cluster instead of creating one.")
    g.addoption("--node-sudo", action="store_true", help="run node commands with sudo (ssh nodes)")
    g.addoption("--allow-node-writes", action="store_true",
                help="existing-cluster mode: allow the fault tests to change the nodes (read-only otherwise)")
    g.addoption("--lab-replicas", type=int, default=None,
                help="grading: the replica count the lab asks of `app` (e.g. 2 or 3)")
    g.addoption("--faults-dir", default=None, help="fault catalog directory (default: faults/)")
    g.addoption("--fault", action="append", default=[], help="run only this fault id (repeatable)")
    g.addoption("--component", default=None, help="run only faults of this component")
    g.addoption("--labs-dir", default=None, help="lab directory (default: labs/; with --faults-dir no lab "
                                                              "runs unless --labs-dir or --lab is given)")
    g.addoption("--lab", action="append", default=[], help="replay only this lab id (repeatable)")
    g.addoption("--list-faults", action="store_true", help="print the fault catalog and exit")
    g.addoption("--timeout-scale", default=None, metavar="FACTOR",
                help="multiply every wait's timeout, a positive number (env BREAKFIX_TIMEOUT_SCALE; "
                     "BREAKFIX_TIMEOUT_<NAME> seconds per wait)")
    g.addoption("--app-image", default=None,
                help="image of the `app` deployment (default: kube-breakfix/app:v1 on the offline node image, "
                     "registry.k8s.io/pause:3.10.1 otherwise)")
    g.addoption("--shard", default=None, metavar="I/N",
                help="run the I-th of N stable slices of the selected tests (1 <= I <= N; one CI runner each); "
                     "the whole-run checks run in every slice")
    g.addoption("--pace", default=DEFAULT_PACE, choices=PACES,
                help="driven (default): stop what the kubelet replaces of etcd and the API server with no grace "
                     "and judge recovery by function; kubelet: wait for the kubelet's own pace (docs/speed.md)")
    g.addoption("--cluster-shape", default="single",
                help="cluster shape to create: a kind configuration in clusters/ (single, workers, ha); "
                     "faults run only on the shapes their file lists")
    g.addoption("--no-lab-clusters", action="store_true",
                help="skip a lab written for another cluster shape (labs/*.yaml cluster.shape) instead of replaying "
                     "it on a kind cluster of its own shape made for it (NAME-SHAPE); for a matrix that runs "
                     "every shape")
    g.addoption("--k8s-version", default=None,
                help="Kubernetes version of the offline node image (airgap/versions.env K8S_VERSIONS; "
                     "default: the first); --kind-image overrides it")
    g.addoption("--wait-lock", default="0", metavar="SECONDS",
                help="when another writer (breakfix break/restore/lab setup, another run) holds the cluster node's "
                     "lock, wait up to SECONDS for it (default 0: stop at once, naming the holder)")
    g.addoption("--timings-file", default="reports/timings.json", help="where phase timings are written")
    g.addoption("--bench-rows", default="reports/bench-rows.jsonl",
                help="make bench: the file each measured fault's row is appended to (one JSON line)")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, args, parser):
    """pytest works out the rootdir and the config file before it loads any plugin, from the
    arguments that do not look like options. With `--kubeconfig /tmp/x/kc` (the value after a
    space), /tmp/x/kc looks like a test path: the rootdir moves to /tmp/x and pyproject.toml's
    settings (testpaths, markers, addopts) are lost (pytest-dev/pytest#8846). An entry point does
    not change that order. So here, the first hook after the plugins are loaded and before any
    conftest is, parse the arguments again with every option known and, if the real test paths
    give another rootdir, take it with its config file and addopts."""
    from _pytest.config.findpaths import determine_setup  # pytest is pinned (pyproject.toml)

    cfg = early_config
    ns = parser.parse_known_args(args, namespace=copy.copy(cfg.option))
    rootpath, inipath, inicfg, ignored = determine_setup(
        inifile=ns.inifilename, override_ini=ns.override_ini, args=ns.file_or_dir,
        rootdir_cmd_arg=ns.rootdir or None, invocation_dir=cfg.invocation_params.dir)
    if (rootpath, inipath) == (cfg.rootpath, cfg.inipath):
        return
    if cfg.inipath is not None and cfg.getini("addopts"):
        # pytest already applied the addopts of the config file it wrongly found: do not guess.
        raise pytest.UsageError(f"an option value was taken for a test path (rootdir {cfg.rootpath}); "
                                f"write options as --option=VALUE")
    cfg._rootpath, cfg._inipath, cfg._inicfg, cfg._ignored_config_files = rootpath, inipath, inicfg, ignored
    cfg._inicache.clear()
    parser.extra_info["rootdir"], parser.extra_info["inifile"] = str(rootpath), str(inipath)
    addopts = cfg._validate_args(cfg.getini("addopts"), "via addopts config")
    args[:] = addopts + args
    cfg.pluginmanager.consider_preparse(addopts, exclude_only=False)   # e.g. -p no:cacheprovider
    cfg.known_args_namespace = parser.parse_known_args(args, namespace=copy.copy(cfg.option))
    if cfg.known_args_namespace.confcutdir is None:
        cfg.known_args_namespace.confcutdir = str(inipath.parent if inipath else rootpath)


# `pytest` alone in the repository root (CI pipelines call it directly) runs the suite as `make
# conformance` does: testpaths (pyproject.toml) selects suites/, and these are the options the
# Makefile passes, applied only when no test path was given and only where the command line says
# nothing. `make unit` (`pytest tests/unit`) is not affected.
CONFORMANCE_DEFAULTS = {
    "allure_report_dir": "reports/allure-results",   # --alluredir
    "clean_alluredir": True,                          # --clean-alluredir
    "xmlpath": "reports/junit.xml",                   # --junitxml
    "cluster_name": "breakfix",                       # --cluster-name (make's CLUSTER)
}
_PLUGIN_DEFAULTS = {"allure_report_dir": None, "clean_alluredir": False, "xmlpath": None}
# make conformance's WORKERS on the single shape (the Makefile's default; the fastest measured here):
# kind clusters created at once, one per pytest-xdist worker.
DEFAULT_WORKERS = 4
# How make conformance hands the tests to the workers: loadgroup with no group makes every test its
# own unit, given out in the collected order (longest first under -n, fixtures/order.py), one
# running and one queued per worker. The default `load` sends consecutive chunks (the two labs to
# one worker).
DIST = "loadgroup"


def _given(config, *flags: str) -> bool:
    """Whether the command line gave one of FLAGS (`-n 3`, `-n3`, `--numprocesses=3`, ...)."""
    return any(a == f or a.startswith(f + "=") or (not f.startswith("--") and a.startswith(f))
               for a in config.invocation_params.args for f in flags)


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config):
    """Bare `pytest` spreads the suite over DEFAULT_WORKERS clusters as `make conformance` does:
    set here, around every other implementation (pytest-xdist reads -n in its own, tryfirst), and
    only where make would (the single shape, clusters the run creates, -n not given, xdist loaded,
    not a worker itself)."""
    config._breakfix_workers_default = None
    config._breakfix_existing = None if hasattr(config, "workerinput") else existing_kind_cluster(config)
    if _default_workers_apply(config):
        config.option.numprocesses = DEFAULT_WORKERS
        config.option.dist = DIST
        config._breakfix_workers_default = DEFAULT_WORKERS
    return (yield)


def _default_workers_apply(config) -> bool:
    o = config.option
    if (config.args_source != pytest.Config.ArgsSource.TESTPATHS or hasattr(config, "workerinput")
            or not config.pluginmanager.hasplugin("xdist") or not hasattr(o, "numprocesses")):
        return False
    if _given(config, "-n", "--numprocesses", "--dist", "-d", "--tx") or o.numprocesses:
        return False
    if getattr(o, "kubeconfig", None) or getattr(o, "node", None) or getattr(o, "usepdb", False):
        return False
    if getattr(config, "_breakfix_existing", None):    # a kind cluster that is there: run on it, one process
        return False
    return getattr(o, "cluster_shape", "single") == "single"


def _kind_bin(config) -> str | None:
    """The kind the cluster fixture would use (fixtures/cluster.py kind_binary), or None."""
    for cand in (getattr(config.option, "kind_bin", None), str(ROOT / "airgap" / ".build" / "bin" / "kind"),
                 shutil.which("kind")):
        if cand and Path(cand).is_file():
            return cand
    return None


def existing_kind_cluster(config, run=subprocess.run) -> str | None:
    """The cluster --cluster-name names, when the command line gave it and kind lists a cluster of
    that name now (made by hand, or kept by an earlier --keep-cluster run): the run uses it, in one
    process. None otherwise (no kind, no Docker engine: the cluster fixture says why later)."""
    name = getattr(config.option, "cluster_name", None)
    kind = _kind_bin(config)
    if not name or not kind or not _given(config, "--cluster-name"):
        return None
    try:
        r = run([kind, "get", "clusters"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return name if r.returncode == 0 and name in r.stdout.split() else None


def cluster_lines(config) -> list[str]:
    """What the run will run on, for the header: an existing cluster (--kubeconfig, or a kind
    cluster --cluster-name names) or the kind clusters it creates, by name."""
    o = config.option
    if getattr(o, "collectonly", False) or getattr(o, "list_faults", False):
        return []
    kubeconfig, node = getattr(o, "kubeconfig", None), getattr(o, "node", None)
    if kubeconfig or node:
        return [f"kube-breakfix: runs on the existing cluster of --kubeconfig={kubeconfig} (node {node}), in one "
                f"process; it is left in place"
                + ("" if getattr(o, "allow_node_writes", False) else " and its nodes are not changed (read-only)")]
    name = getattr(o, "cluster_name", None)
    workers = getattr(o, "numprocesses", None)
    existing = getattr(config, "_breakfix_existing", None)
    if existing and not workers:
        kc = Path(".pytest-kind") / existing / "kubeconfig"      # fixtures/cluster.py: adopted or kept
        ours = kc.is_file() and not kc.with_name("adopted").is_file()
        return [f"kube-breakfix: runs on the existing kind cluster {existing}, in one process; "
                + ("kept by an earlier --keep-cluster run, deleted at the end unless --keep-cluster" if ours
                   else "it was made outside this run and is left in place")]
    if not name:
        return []
    if workers:
        names = (", ".join(f"{name}-gw{i}" for i in range(workers)) if isinstance(workers, int)
                 else f"{name}-gw0, {name}-gw1, ...")
        lines = [f"kube-breakfix: creates kind clusters {names} (one per worker); deleted at the end unless "
                 f"--keep-cluster"]
        if existing:
            lines.append(f"kube-breakfix: the existing kind cluster {existing} is not used: -n makes a cluster per "
                         f"worker; without -n the run uses {existing}")
        return lines
    return [f"kube-breakfix: creates kind cluster {name}; deleted at the end unless --keep-cluster"]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if config.args_source != pytest.Config.ArgsSource.TESTPATHS:
        return
    chosen = {}
    for name, value in CONFORMANCE_DEFAULTS.items():
        if hasattr(config.option, name) and not _given(config, *_FLAGS[name]):
            chosen[name] = str(config.rootpath / value) if name in ("allure_report_dir", "xmlpath") else value
    config._breakfix_conformance_defaults = chosen
    if not config.option.collectonly:   # --collect-only writes no report (and so wipes none)
        for name, value in chosen.items():
            setattr(config.option, name, value)


_FLAGS = {"allure_report_dir": ("--alluredir",), "clean_alluredir": ("--clean-alluredir",),
          "xmlpath": ("--junitxml", "--junit-xml"), "cluster_name": ("--cluster-name",)}


def pytest_report_header(config):
    lines = []
    chosen = getattr(config, "_breakfix_conformance_defaults", None)
    if chosen:
        workers = getattr(config, "_breakfix_workers_default", None)
        lines.append("kube-breakfix: `pytest` alone runs like `make conformance`: "
                     + " ".join(f"{_FLAGS[n][0]}" + ("" if v is True else f"={v}") for n, v in chosen.items())
                     + (f" -n {workers} --dist {DIST}" if workers else ""))
    if _runs_suite(config):
        lines += cluster_lines(config) + (lab_cluster_lines(config) if _runs_suite(config, "test_labs.py") else [])
        lines.append(f"kube-breakfix: pace {config.getoption('pace')} (--pace=driven|kubelet, docs/speed.md)")
    return lines or None


def lab_cluster_lines(config) -> list[str]:
    """The kind clusters made for the selected labs written for another shape than the run's
    (fixtures/lab.py replay_lab), or the labs skipped for it."""
    o = config.option
    shape = getattr(getattr(config, "_breakfix_shape", None), "name", None)
    off = [lab for lab in getattr(config, "_breakfix_labs", []) if shape and not lab.fits(shape)]
    if not off or getattr(o, "collectonly", False):
        return []
    ids = ", ".join(f"{lab.id} ({lab.shape})" for lab in off)
    if getattr(o, "no_lab_clusters", False) or getattr(o, "kubeconfig", None) or getattr(o, "node", None):
        return [f"kube-breakfix: skips the labs of another shape than {shape}: {ids}"]
    name = getattr(o, "cluster_name", None) or "pytest-kind"
    return [f"kube-breakfix: replays the labs of another shape than {shape} on a kind cluster made for each shape "
            f"({name}-SHAPE, {name}-gwN-SHAPE under -n): {ids}"]


def _runs_suite(config, module: str | None = None) -> bool:
    """Whether the run selects the suite (suites/: bare pytest, or a path under it); with MODULE
    (a file name under suites/), whether it selects that module."""
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        return True
    suites = ROOT / "suites"
    for a in config.args:
        p = Path(a.split("::", 1)[0])
        p = p if p.is_absolute() else Path(config.invocation_params.dir) / p
        p = p.resolve()
        if p == suites or (suites in p.parents and (module is None or p == suites / module)):
            return True
    return False
