"""Fixtures every integration test module shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.harness import Steward


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    """A real Steward of the module's own (home, API port, loopback range), ended with every
    process it started when the module's tests are done."""
    instance = Steward(tmp_path_factory.mktemp("steward"))
    instance.start()
    yield instance
    instance.cleanup()
