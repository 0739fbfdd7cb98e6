"""Test settings that travel with the sdist (no repository configuration needed)."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds wheels or virtual environments")
