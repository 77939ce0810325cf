"""pytest start-up: read the regression's environment (SEED, SIM, BUILD_DIR) before any test
is collected, so that a bad value stops pytest with one line instead of a traceback."""


def pytest_configure(config):
    import tb.regression  # noqa: F401  (raises pytest.UsageError for a bad value)
