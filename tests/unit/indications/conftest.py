from __future__ import annotations

import pytest

from cimprovider.repository import ClassRepository


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> ClassRepository:
    return ClassRepository.load(cache_dir=tmp_path_factory.mktemp("schema"))
