"""Steward's principal builder for Kafka: which nodes load it, and its jar, built once per Kafka
version against that version's own jars."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from steward.kafka.distribution import find_distribution
from steward.kafka.plugins import PRINCIPAL_BUILDER, needs_plugins, plugin_jar
from steward.settings import kafka_cache_dir


def test_only_a_listener_with_the_principal_builder_loads_the_plugins() -> None:
    assert needs_plugins({"listener.name.client_tls.principal.builder.class": PRINCIPAL_BUILDER})
    assert not needs_plugins({"listener.name.client_tls.ssl.client.auth": "required"})
    assert not needs_plugins({"principal.builder.class": "org.example.Other"})


@pytest.mark.skipif(
    find_distribution("4.3.1") is None or shutil.which("javac") is None,
    reason="needs Kafka 4.3.1 installed (make install) and a JDK",
)
def test_the_jar_is_built_once_against_the_kafka_it_runs_in(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "4.3.1").mkdir(parents=True)
    shutil.copy(kafka_cache_dir() / "4.3.1" / "steward-distribution.json", cache / "4.3.1")
    jar = plugin_jar("4.3.1", cache)
    assert jar.parent == cache / "plugins" and "4.3.1" in jar.name
    with zipfile.ZipFile(jar) as archive:
        assert "steward/kafka/RevocationCheckingPrincipalBuilder.class" in archive.namelist()
    built = jar.stat().st_mtime_ns
    assert plugin_jar("4.3.1", cache) == jar and jar.stat().st_mtime_ns == built
