"""Grading a live cluster (`breakfix check`): the run (grader.py) over its parts, one job each (the
node and API they share, context.py; the static pods, static_pods.py; the kubelet, kubelet.py; a lab
step's workers, workers.py; the cluster's functions and the app, functions.py; the waits on what has
just started, readiness.py; the verdict and the root causes, rootcause.py; a component seen down for
`breakfix break`, down.py), the node's own view of each component (view.py), the diagnosis without
the catalog (diagnosis.py over the baselines of baseline.py), manifests checked as the kubelet runs
them (manifests.py), the results and their score (results.py) and their rendering (render.py); the
grader of a lab step (steps.py)."""
from .context import default_probe_image, node_name_of
from .grader import Grader, ReadOnlyViolation, compare_checksums
from .manifests import HostPath, host_path_for, manifest_problems, needed_paths
from .steps import step_grader
from .results import PARTS, TITLES, VERDICT_EXIT, WEIGHTS, CheckResult, GradeReport, LikelyFault, score

__all__ = ["Grader", "ReadOnlyViolation", "compare_checksums", "default_probe_image", "node_name_of", "HostPath",
           "host_path_for", "manifest_problems", "needed_paths", "PARTS", "TITLES", "VERDICT_EXIT", "WEIGHTS",
           "CheckResult", "GradeReport", "LikelyFault", "score", "step_grader"]
