"""Test settings that travel with the sdist (no repository configuration needed)."""

import sys
from pathlib import Path

import pytest

# op_table.py is a data module shared by the op tests.
sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds wheels or virtual environments")
