"""Wiring only: the fixtures live in fixtures/, the engine in breakfix/."""
pytest_plugins = [
    "fixtures.options",
    "fixtures.catalog",
    "fixtures.cluster",
    "fixtures.node",
    "fixtures.lab",
    "fixtures.diagnostics",
    "fixtures.reporting",
]
