"""Kafka's own Java tools, run from an installed distribution, for what no Python client can do:
unregister a broker (`org.apache.kafka.tools.ClusterTool`), map a release to its feature levels
(`org.apache.kafka.tools.FeatureCommand`), alter the cluster-wide default broker configuration
(`java/ClusterDefaults.java`, a single-file program on Kafka's Admin API).

Each run is one short JVM, about a second: `java <small-heap options> -cp <libs>/* <main>`.
Log4j is switched off so that stdout carries only the tool's answer; failures come on stderr.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from steward.domain.versions import version_key
from steward.kafka.distribution import (
    DistributionError,
    installed_distributions,
    require_distribution,
)
from steward.kafka.errors import KafkaAdminError
from steward.kafka.java import JavaNotFound, find_java

TOOL_JVM_OPTIONS: tuple[str, ...] = (
    "-Xmx256m",
    "-XX:TieredStopAtLevel=1",
    "-XX:+UseSerialGC",
    "-Djava.awt.headless=true",
    "-Dlog4j2.level=OFF",
)
"""What a short-lived tool needs: a small heap, quick start, no log lines mixed into its output."""


class KafkaToolError(KafkaAdminError):
    """A Kafka tool could not be run (no Java, Kafka version not installed, timed out); the
    default when the caller names no error class of its own."""


@dataclass(frozen=True)
class ToolRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """What the tool printed, for error messages: stack trace frames left out."""
        lines = [*self.stdout.splitlines(), *self.stderr.splitlines()]
        return "\n".join(line for line in lines if line.strip() and not line[0].isspace())


def newest_installed_version(error_type: type[KafkaAdminError] = KafkaToolError) -> str:
    """The newest installed Kafka: the one whose tools know every release up to its own."""
    installed = installed_distributions()
    if not installed:
        raise error_type("no Kafka distribution is installed; run `steward kafka install`")
    return max(installed, key=lambda dist: version_key(dist.version)).version


def run_tool(
    kafka_version: str,
    main_class: str,
    args: Sequence[str],
    *,
    timeout: float,
    stdin: str | None = None,
    error_type: type[KafkaAdminError] = KafkaToolError,
) -> ToolRun:
    """Run Kafka `kafka_version`'s tool class `main_class` with `args`; a non-zero exit is returned,
    not raised, since tools report ordinary answers (e.g. "not registered") that way. When the
    tool cannot run at all, `error_type` is raised (the caller's own error class)."""
    return _run_java(kafka_version, [main_class, *args], timeout, stdin, error_type)


def run_program(
    kafka_version: str,
    source_name: str,
    args: Sequence[str] = (),
    *,
    timeout: float,
    stdin: str | None = None,
    error_type: type[KafkaAdminError] = KafkaToolError,
) -> ToolRun:
    """Compile and run the single-file Java program `steward/kafka/java/<source_name>` against
    Kafka `kafka_version`'s jars (Java's source-file mode; needs a JDK, not only a JRE)."""
    source = resources.files("steward.kafka").joinpath("java", source_name)
    with resources.as_file(source) as path:
        return _run_java(kafka_version, [str(path), *args], timeout, stdin, error_type)


def _run_java(
    kafka_version: str,
    main_and_args: list[str],
    timeout: float,
    stdin: str | None,
    error_type: type[KafkaAdminError],
) -> ToolRun:
    try:
        classpath = require_distribution(kafka_version).classpath
        java = find_java()
    except (DistributionError, JavaNotFound) as error:
        raise error_type(str(error)) from error
    command = [java, *TOOL_JVM_OPTIONS, "-cp", classpath, *main_and_args]
    name = main_and_args[0].rsplit("/", 1)[-1]
    try:
        done = subprocess.run(
            command,
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as error:
        raise error_type(f"{name} did not finish within {timeout:g} s") from error
    except OSError as error:
        raise error_type(f"could not run {java}: {error}") from error
    return ToolRun(done.returncode, done.stdout, done.stderr)
