"""StorageConfig: enum coercion and one-line ValueErrors naming the field."""

from __future__ import annotations

import pytest

from farm.config import SimulationConfig
from farm.storage import PragmaProfile, StorageConfig, WriteMode


def test_defaults_are_balanced_batched_synchronous():
    config = StorageConfig()
    assert config.pragma_profile is PragmaProfile.BALANCED
    assert config.write_mode is WriteMode.BATCHED
    assert config.asynchronous is False and config.enabled is False


def test_strings_are_coerced_to_enums_through_overrides():
    config = SimulationConfig().with_overrides(
        {"storage.pragma_profile": "performance", "storage.write_mode": "row_at_a_time", "storage.db_path": "x.db"}
    )
    assert config.storage.pragma_profile is PragmaProfile.PERFORMANCE
    assert config.storage.write_mode is WriteMode.ROW_AT_A_TIME


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"batch_size": 0}, "storage.batch_size"),
        ({"flush_interval": 0}, "storage.flush_interval"),
        ({"queue_size": -1}, "storage.queue_size"),
        ({"pragma_profile": "fast"}, "storage.pragma_profile"),
        ({"write_mode": "rows"}, "storage.write_mode"),
        ({"asynchronous": "yes"}, "storage.asynchronous"),
        ({"db_path": ""}, "storage.db_path"),
        ({"db_path": "run.db", "persist_path": "copy.db"}, "storage.persist_path"),
        ({"db_path": ":memory:", "persist_path": ":memory:"}, "storage.persist_path"),
    ],
)
def test_invalid_fields_are_named(fields, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")) as info:
        StorageConfig(**fields)
    assert "\n" not in str(info.value)


def test_where_the_run_ends_up():
    assert StorageConfig(db_path="a.db").file_path == "a.db"
    assert not StorageConfig(db_path="a.db").in_memory
    assert StorageConfig(db_path="a.db", pragma_profile="memory").in_memory
    assert StorageConfig(db_path=":memory:").file_path is None
    memory = StorageConfig(db_path=":memory:", persist_path="b.db")
    assert memory.in_memory and memory.file_path == "b.db"
