"""Shared test fixtures.

Tests that need the reference data beside the checkout (``../shared/data``) use the
``shared_data`` fixture, which skips with a clear reason when that folder is absent.
Synthetic fixtures live in ``tests/`` and are named ``synthetic_*``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from siting.paths import shared_data_dir

TESTS_DIR = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("reference data ../shared/data not present (set SITING_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def n1000_roads(shared_data: Path) -> Path:
    path = shared_data / "n1000" / "Veglenke.gpkg"
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture(scope="session")
def decided(tmp_path_factory) -> Path:
    """The decided plan (``scenarios/evaluate-plan.yaml`` on 5 km demand cells), run once per session."""
    from test_run import fast_copy

    from siting.run import run_scenario

    tmp = tmp_path_factory.mktemp("decided")
    return run_scenario(fast_copy("evaluate-plan", tmp), tmp / "run")
