"""Steward's S3 sink connector, built from its Java sources (`java/s3sink/`) into a Connect
plugin: a ZIP holding one directory with the connector's jar and the AWS SDK's jars, as MSK
Connect takes a custom plugin.

No open-source S3 sink connector resolves from Maven Central with its dependencies (Aiven's and
Apache Camel's are published elsewhere), so Steward has its own. The SDK's jars come from Maven
Central (`s3_sink_pom.xml`); the classes are compiled with `javac` against the Kafka
distribution's own Connect API. The archive is named after the Kafka version and the sources'
digest and built once, under a lock, in the Kafka cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from steward.kafka.distribution import require_distribution
from steward.kafka.plugins import PluginBuildError, _jdk_tool
from steward.settings import kafka_cache_dir

SOURCES = Path(__file__).parent / "java" / "s3sink"
POM = Path(__file__).parent / "s3_sink_pom.xml"
CONNECTOR_CLASS = "steward.connect.s3.S3SinkConnector"
SERVICE_FILE = "META-INF/services/org.apache.kafka.connect.sink.SinkConnector"
TIMEOUT = 600.0


def _digest() -> str:
    digest = hashlib.sha256(POM.read_bytes())
    for source in sorted(SOURCES.glob("*.java")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


def s3_sink_plugin(kafka_version: str, cache: Path | None = None) -> Path:
    """The plugin ZIP of the S3 sink for `kafka_version`, built when there is none yet."""
    directory = (cache or kafka_cache_dir()) / "connect-plugins"
    archive = directory / f"steward-s3-sink-{kafka_version}-{_digest()}.zip"
    if archive.is_file():
        return archive
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not archive.is_file():
            _build(require_distribution(kafka_version, cache).classpath, archive)
    return archive


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise PluginBuildError(f"{what} took over {TIMEOUT:.0f} s") from error
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise PluginBuildError(f"{what} failed ({done.returncode}):\n" + "\n".join(tail))


def _build(kafka_classpath: str, archive: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise PluginBuildError("Maven (mvn) is needed to fetch the AWS SDK for the S3 sink")
    with tempfile.TemporaryDirectory(prefix="steward-s3-sink-") as work:
        root = Path(work)
        libs, classes = root / "libs", root / "classes"
        resolve = [mvn, "-q", "-B", "-f", str(POM), f"-Dsteward.libs={libs}"]
        _run([*resolve, "dependency:copy-dependencies"], "resolving the AWS SDK")
        sources = [str(s) for s in sorted(SOURCES.glob("*.java"))]
        classpath = f"{kafka_classpath}{os.pathsep}{libs}/*"
        _run(
            [_jdk_tool("javac"), "-nowarn", "-cp", classpath, "-d", str(classes), *sources],
            "javac",
        )
        service = classes / SERVICE_FILE
        service.parent.mkdir(parents=True, exist_ok=True)
        service.write_text(CONNECTOR_CLASS + "\n")
        jar = libs / "steward-s3-sink.jar"
        _run([_jdk_tool("jar"), "cf", str(jar), "-C", str(classes), "."], "jar")
        staging = root / archive.name
        with zipfile.ZipFile(staging, "w", zipfile.ZIP_DEFLATED) as out:
            for path in sorted(libs.glob("*.jar")):
                out.write(path, f"steward-s3-sink/lib/{path.name}")
        os.replace(staging, archive)
