"""The command line of a Kafka node: `java <jvm options> -cp <libs>/* kafka.Kafka <properties>`."""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path

from steward.agent.spec import NodeSpec
from steward.kafka.log4j import log4j_jvm_options

KAFKA_MAIN = "kafka.Kafka"

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


def kafka_server_command(
    spec: NodeSpec,
    *,
    java: str,
    classpath: str,
    properties_file: Path,
    log4j_file: Path,
    logs_dir: Path,
    extra_options: Sequence[str] = (),
) -> list[str]:
    return [
        java,
        f"-Xms{spec.heap_mb}m",
        f"-Xmx{spec.heap_mb}m",
        *SERVER_JVM_OPTIONS,
        *extra_options,
        *operator_jvm_options(),
        *spec.jvm_options,
        *log4j_jvm_options(str(log4j_file), str(logs_dir)),
        "-cp",
        classpath,
        KAFKA_MAIN,
        str(properties_file),
    ]
