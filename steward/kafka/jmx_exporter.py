"""The Prometheus JMX exporter: the Java agent that serves a Kafka node's JMX metrics in
Prometheus text format (MSK's open monitoring "JMX Exporter", port 11001 on every broker).

`install_jmx_exporter` fetches `io.prometheus.jmx:jmx_prometheus_javaagent` from Maven Central
into the Kafka cache beside the distributions (`steward kafka install` does it), together with
the exporter's configuration (`jmx_exporter.yaml` beside this module: which MBeans it reads).
`javaagent_options` is what a node's JVM is started with to serve them on `host:port`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from steward.files import replace_file
from steward.settings import kafka_cache_dir

JMX_EXPORTER_VERSION = "1.0.1"
JMX_EXPORTER_ARTIFACT = f"io.prometheus.jmx:jmx_prometheus_javaagent:{JMX_EXPORTER_VERSION}"
JMX_EXPORTER_PORT = 11001
"""MSK's port for the JMX exporter on each broker."""
NODE_EXPORTER_PORT = 11002
"""MSK's port for the node exporter on each broker (served by Steward's agent)."""

_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
_CONFIG_NAME = "jmx_exporter.yaml"


class JmxExporterError(Exception):
    pass


def exporter_dir(cache: Path | None = None) -> Path:
    return (cache or kafka_cache_dir()) / "jmx-exporter"


def exporter_jar(cache: Path | None = None) -> Path:
    return exporter_dir(cache) / f"jmx_prometheus_javaagent-{JMX_EXPORTER_VERSION}.jar"


def exporter_config(cache: Path | None = None) -> Path:
    return exporter_dir(cache) / _CONFIG_NAME


def config_text() -> str:
    return resources.files("steward.kafka").joinpath(_CONFIG_NAME).read_text()


def is_installed(cache: Path | None = None) -> bool:
    return exporter_jar(cache).is_file() and exporter_config(cache).is_file()


def install_jmx_exporter(
    cache: Path | None = None, log: Callable[[str], None] | None = None
) -> Path:
    """Fetch the exporter's jar from Maven Central (a no-op when it is there) and write its
    configuration; the jar's path."""
    target = exporter_dir(cache)
    target.mkdir(parents=True, exist_ok=True)
    _write_config(exporter_config(cache))
    jar = exporter_jar(cache)
    if jar.is_file():
        return jar
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JmxExporterError("Maven (mvn) is needed to fetch the JMX exporter")
    if log:
        log(f"resolving {JMX_EXPORTER_ARTIFACT} from Maven Central")
    with tempfile.TemporaryDirectory(prefix="jmx-exporter-", dir=target) as work:
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                f"{_DEPENDENCY_PLUGIN}:copy",
                f"-Dartifact={JMX_EXPORTER_ARTIFACT}",
                f"-DoutputDirectory={work}",
            ],
            capture_output=True,
            text=True,
            cwd=work,
        )
        fetched = Path(work) / jar.name
        if result.returncode != 0 or not fetched.is_file():
            tail = (result.stdout + result.stderr).strip().splitlines()[-10:]
            raise JmxExporterError(
                f"Maven could not fetch {JMX_EXPORTER_ARTIFACT}:\n" + "\n".join(tail)
            )
        fetched.replace(jar)
    return jar


def _write_config(path: Path) -> None:
    text = config_text()
    if path.is_file() and path.read_text() == text:
        return
    replace_file(path, text)


def javaagent_options(
    host: str, port: int = JMX_EXPORTER_PORT, cache: Path | None = None
) -> list[str]:
    """The JVM option that runs the exporter in a node, serving on host:port; none when the
    exporter is not installed (the node then runs without it)."""
    if not is_installed(cache):
        return []
    return [f"-javaagent:{exporter_jar(cache)}={host}:{port}:{exporter_config(cache)}"]
