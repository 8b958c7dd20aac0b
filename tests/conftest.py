"""Root test configuration: shared fixtures live in the plugins named in pytest_plugins.

The suite hashes thousands of passwords: argon2 runs at its cheapest cost here (production
parameters stay the default; tests/backend/test_passwords.py pins that). Set in the environment,
so server processes the tests start inherit it too.
"""

import os

os.environ.setdefault("NEXAVPN_ARGON2_TIME_COST", "1")
os.environ.setdefault("NEXAVPN_ARGON2_MEMORY_KIB", "8")
os.environ.setdefault("NEXAVPN_ARGON2_PARALLELISM", "1")

pytest_plugins = ["tests.backend_fixtures", "tests.https_server"]
