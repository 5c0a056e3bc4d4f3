def pytest_configure(config):
    config.addinivalue_line("markers", "stress: every kill point x target kind (make stress); not in make test")
