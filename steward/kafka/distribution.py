"""Apache Kafka distributions: the official jars from Maven Central, or an existing install.

A distribution is a directory `<cache>/<version>/libs` holding every jar a broker, a controller and
Kafka's own tools need, i.e. what `libs/` of the Apache tarball holds. `install_distribution`
resolves them with Maven (`pom.xml` beside this module); `KAFKA_HOME` adopts an existing install.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from steward.domain.versions import version_key
from steward.files import replace_file
from steward.settings import kafka_cache_dir

DEFAULT_KAFKA_VERSION = "4.3.1"

# Apache Kafka releases with KRaft-only brokers that Steward can install from Maven Central.
# The newest two minor lines are ACTIVE; older ones are listed as DEPRECATED, as MSK does.
RELEASED_KAFKA_VERSIONS: tuple[str, ...] = (
    "4.0.0",
    "4.0.1",
    "4.0.2",
    "4.1.0",
    "4.1.1",
    "4.1.2",
    "4.2.0",
    "4.2.1",
    "4.3.0",
    "4.3.1",
)

_VERSION_PATTERN = re.compile(r"^\d+\.\d+\.\d+$")
_SERVER_JAR = re.compile(r"^kafka_2\.13-(\d+\.\d+\.\d+)\.jar$")
_MARKER = "steward-distribution.json"


class DistributionError(Exception):
    pass


@dataclass(frozen=True)
class KafkaDistribution:
    version: str
    libs_dir: Path
    source: str
    """"maven" or the KAFKA_HOME it was adopted from."""

    @property
    def classpath(self) -> str:
        return f"{self.libs_dir}/*"


def version_status(version: str) -> str:
    lines = sorted({version_key(v)[:2] for v in RELEASED_KAFKA_VERSIONS}, reverse=True)
    return "ACTIVE" if version_key(version)[:2] in lines[:2] else "DEPRECATED"


def is_valid_version(version: str) -> bool:
    return bool(_VERSION_PATTERN.match(version))


def _read(version_dir: Path) -> KafkaDistribution | None:
    marker = version_dir / _MARKER
    if not marker.is_file():
        return None
    data = json.loads(marker.read_text())
    libs = Path(data["libs_dir"])
    if not any(libs.glob("kafka_2.13-*.jar")):
        return None
    return KafkaDistribution(version=data["version"], libs_dir=libs, source=data["source"])


def installed_distributions(cache: Path | None = None) -> list[KafkaDistribution]:
    root = cache or kafka_cache_dir()
    if not root.is_dir():
        return []
    found = [d for d in (_read(p) for p in root.iterdir() if p.is_dir()) if d is not None]
    return sorted(found, key=lambda d: version_key(d.version))


def find_distribution(version: str, cache: Path | None = None) -> KafkaDistribution | None:
    root = cache or kafka_cache_dir()
    return _read(root / version) if is_valid_version(version) else None


def require_distribution(version: str, cache: Path | None = None) -> KafkaDistribution:
    dist = find_distribution(version, cache)
    if dist is None:
        raise DistributionError(
            f"Kafka {version} is not installed; run `steward kafka install {version}`"
        )
    return dist


def _write_marker(version_dir: Path, dist: KafkaDistribution) -> None:
    marker = {"version": dist.version, "libs_dir": str(dist.libs_dir), "source": dist.source}
    replace_file(version_dir / _MARKER, json.dumps(marker))


def kafka_home_version(kafka_home: Path) -> str:
    """The version of an Apache Kafka install, read from its `libs/kafka_2.13-X.jar`."""
    libs = kafka_home / "libs"
    for jar in sorted(libs.glob("kafka_2.13-*.jar")):
        match = _SERVER_JAR.match(jar.name)
        if match:
            return match.group(1)
    raise DistributionError(
        f"{kafka_home} is not an Apache Kafka install (no libs/kafka_2.13-*.jar)"
    )


def adopt_kafka_home(kafka_home: Path, cache: Path | None = None) -> KafkaDistribution:
    """Register an existing Apache Kafka install (its libs/ are used in place)."""
    root = cache or kafka_cache_dir()
    kafka_home = kafka_home.resolve()
    version = kafka_home_version(kafka_home)
    version_dir = root / version
    version_dir.mkdir(parents=True, exist_ok=True)
    dist = KafkaDistribution(version, kafka_home / "libs", str(kafka_home))
    _write_marker(version_dir, dist)
    return dist


def install_distribution(
    version: str,
    cache: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> KafkaDistribution:
    """Resolve Kafka `version` from Maven Central into the cache; a no-op when already there."""
    if not is_valid_version(version):
        raise DistributionError(f"{version!r} is not a Kafka version (expected X.Y.Z)")
    root = cache or kafka_cache_dir()
    existing = find_distribution(version, root)
    if existing is not None:
        return existing
    mvn = shutil.which("mvn")
    if mvn is None:
        raise DistributionError("Maven (mvn) is needed to install Kafka from Maven Central")
    version_dir = root / version
    version_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"kafka-{version}-", dir=root) as work:
        pom = Path(work) / "pom.xml"
        pom.write_bytes(resources.files("steward.kafka").joinpath("pom.xml").read_bytes())
        staging = Path(work) / "libs"
        if log:
            log(f"resolving org.apache.kafka:kafka_2.13:{version} from Maven Central")
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                f"-Dkafka.version={version}",
                f"-Dsteward.libs={staging}",
                "dependency:copy-dependencies",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "MAVEN_OPTS": os.environ.get("MAVEN_OPTS", "-Xmx512m")},
        )
        if result.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise DistributionError(f"Maven could not resolve Kafka {version}:\n" + "\n".join(tail))
        libs = version_dir / "libs"
        if libs.exists():
            shutil.rmtree(libs)
        staging.rename(libs)
    dist = KafkaDistribution(version, libs, "maven")
    _write_marker(version_dir, dist)
    return dist


def remove_distribution(version: str, cache: Path | None = None) -> None:
    root = cache or kafka_cache_dir()
    shutil.rmtree(root / version, ignore_errors=True)
