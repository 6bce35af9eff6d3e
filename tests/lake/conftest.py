from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chatlens.lake.layout import Lake
from tests.lake.s3 import MotoS3, restore, use_credentials


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    """One moto S3 server for the session; each test takes a bucket of its own."""
    before = use_credentials()
    server = MotoS3(tmp_path_factory.mktemp("moto") / "moto.log").start()
    try:
        yield server
    finally:
        server.stop()
        restore(before)


@pytest.fixture(params=["local", "s3"])
def lake_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty lake: a local folder, then a bucket on the moto server."""
    if request.param == "local":
        return str(tmp_path / "lake")
    server: MotoS3 = request.getfixturevalue("moto")
    return server.bucket()


@pytest.fixture
def lake(lake_url: str) -> Lake:
    return Lake.open(lake_url)
