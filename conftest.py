"""pytest start-up: read the regression's environment (SEED, SIM, BUILD_DIR) before any test
is collected, so that a bad value stops pytest with one line instead of a traceback; and, for
runs spread over processes (``make test`` runs ``pytest -n 2 --dist loadgroup``), keep each
module whose tests share a module-scoped fixture (a synthesis, a sweep on a local cluster, a
report) in one process, so that the fixture is made once."""

import pytest


def pytest_configure(config):
    import tb.regression  # noqa: F401  (raises pytest.UsageError for a bad value)


def pytest_collection_modifyitems(items):
    for item in items:
        definitions = getattr(item, "_fixtureinfo", None)
        if definitions is None:
            continue
        if any(fixture.scope in ("module", "class", "package")
               for fixtures in definitions.name2fixturedefs.values() for fixture in fixtures):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
