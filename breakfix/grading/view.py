"""The node's own view of a static pod component, as the grader reads it: breakfix/view.py (the
observation layer, shared with the engine)."""
from ..view import STARTUP_S, NodeComponent, UnitJournal, node_component, probe_failures, sandboxes, unit_journal

__all__ = ["STARTUP_S", "NodeComponent", "UnitJournal", "node_component", "probe_failures", "sandboxes",
           "unit_journal"]
