"""Root test configuration: shared fixtures live in tests/fixtures_*.py plugins."""

pytest_plugins = ["tests.backend_fixtures"]
