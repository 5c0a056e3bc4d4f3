"""Wiring only: the fixtures live in fixtures/, the engine in breakfix/ (the command-line options
in breakfix/pytest_options.py, a pytest11 entry point)."""
pytest_plugins = [
    "fixtures.inputs",
    "fixtures.catalog",
    "fixtures.labs",
    "fixtures.cluster",
    "fixtures.node",
    "fixtures.lab",
    "fixtures.diagnostics",
    "fixtures.reporting",
    "fixtures.shard",
    "fixtures.order",
    "fixtures.progress",
]
