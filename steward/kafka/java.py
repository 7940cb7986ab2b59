"""The Java that runs Kafka: where to find it, the JVM options of a Kafka server, and the class
path a node runs with."""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path

from steward.kafka.distribution import require_distribution
from steward.kafka.plugins import needs_plugins, plugin_jar

# What kafka-server-start.sh / kafka-run-class.sh use for a server (KAFKA_JVM_PERFORMANCE_OPTS),
# plus exiting on OutOfMemoryError so that the agent restarts a broken JVM instead of leaving it.
SERVER_JVM_OPTIONS: tuple[str, ...] = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)


JVM_OPTIONS_ENV = "STEWARD_KAFKA_JVM_OPTIONS"
"""Options the agent adds to every node's JVM, read when a node starts (like Kafka's own
KAFKA_OPTS), e.g. `-XX:TieredStopAtLevel=1` where many short-lived nodes share few cores."""


def operator_jvm_options() -> list[str]:
    """The node JVM options of STEWARD_KAFKA_JVM_OPTIONS, split as a shell would."""
    return shlex.split(os.environ.get(JVM_OPTIONS_ENV, ""))


def heap_options(heap_mb: int) -> list[str]:
    """A fixed heap of `heap_mb` MiB: as large at start as it may grow."""
    return [f"-Xms{heap_mb}m", f"-Xmx{heap_mb}m"]


class JavaNotFound(Exception):
    pass


def find_java() -> str:
    """$JAVA_HOME/bin/java, else `java` on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise JavaNotFound("no Java runtime: set JAVA_HOME or put `java` (17+) on PATH")
    return found


def server_classpath(kafka_version: str, properties: Mapping[str, str]) -> str:
    """The class path of a node of Kafka `kafka_version` with these properties: the
    distribution's jars, and the jar of Steward's own classes when the properties load one
    (`steward.kafka.plugins`, built on first use)."""
    classpath = require_distribution(kafka_version).classpath
    if needs_plugins(properties):
        classpath = f"{classpath}{os.pathsep}{plugin_jar(kafka_version)}"
    return classpath
