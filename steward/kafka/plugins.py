"""Steward's own classes for Kafka's JVMs, built from source against the Kafka they run in.

`RevocationCheckingPrincipalBuilder` (`java/RevocationCheckingPrincipalBuilder.java`) makes a
revoked client certificate a principal no ACL allows; the IAM sign-in classes (`IamSignInVerifier`,
`IamSaslServer`, `IamSecurityProviderCreator`, `IamLoginModule`) verify SigV4 sign-ins with
SASL `AWS_MSK_IAM` and `OAUTHBEARER` (`steward.kafka.iam_signin`). They are compiled together with
`javac` against the Kafka version's own jars (Jackson is among them) the first time a node of that
version needs one, into a jar named after the Kafka version and the digest of all the sources, in
the Kafka cache; later nodes use that jar. A lock file keeps two agents on one host from building
it at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from steward.kafka.distribution import require_distribution
from steward.settings import kafka_cache_dir

JAVA_SOURCES = Path(__file__).parent / "java"
PLUGIN_SOURCES = (
    "RevocationCheckingPrincipalBuilder.java",
    "IamSignInVerifier.java",
    "IamSaslServer.java",
    "IamSecurityProviderCreator.java",
    "IamLoginModule.java",
)
"""Every source the plugin jar is compiled from; its name carries their digest."""
PRINCIPAL_BUILDER = "steward.kafka.RevocationCheckingPrincipalBuilder"
IAM_SIGN_IN_VERIFIER = "steward.kafka.IamSignInVerifier"
IAM_SECURITY_PROVIDER = "steward.kafka.IamSecurityProviderCreator"
IAM_LOGIN_MODULE = "steward.kafka.IamLoginModule"
PLUGIN_CLASSES = frozenset(
    {PRINCIPAL_BUILDER, IAM_SIGN_IN_VERIFIER, IAM_SECURITY_PROVIDER, IAM_LOGIN_MODULE}
)
REVOCATION_LISTS_LOCATION = "steward.revocation.lists.location"
REVOKED_PRINCIPAL = "User:steward-revoked"
"""What a revoked certificate authenticates as (the Java class's `REVOKED`)."""


class PluginBuildError(Exception):
    pass


def needs_plugins(properties: Mapping[str, str]) -> bool:
    """Whether a node with these properties loads one of Steward's classes."""
    return any(
        value in PLUGIN_CLASSES or value.startswith(f"{IAM_LOGIN_MODULE} ")
        for value in properties.values()
    )


def plugin_jar(kafka_version: str, cache: Path | None = None) -> Path:
    """The jar of Steward's classes for `kafka_version`, built when there is none yet."""
    sources = [JAVA_SOURCES / name for name in PLUGIN_SOURCES]
    digest = plugin_digest(sources)
    directory = (cache or kafka_cache_dir()) / "plugins"
    jar = directory / f"steward-kafka-{kafka_version}-{digest}.jar"
    if jar.is_file():
        return jar
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not jar.is_file():
            _build(sources, require_distribution(kafka_version, cache).classpath, jar)
    return jar


def plugin_digest(sources: list[Path]) -> str:
    """A digest of every source's name and content: any change makes a new jar."""
    digest = hashlib.sha256()
    for source in sorted(sources):
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _build(sources: list[Path], kafka_classpath: str, jar: Path) -> None:
    javac, jar_tool = _jdk_tool("javac"), _jdk_tool("jar")
    with tempfile.TemporaryDirectory(prefix="steward-plugins-") as work:
        classes = Path(work) / "classes"
        commands = (
            [javac, "-nowarn", "-cp", kafka_classpath, "-d", str(classes), *map(str, sources)],
            [jar_tool, "cf", str(Path(work) / jar.name), "-C", str(classes), "."],
        )
        for command in commands:
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=300)
            except subprocess.TimeoutExpired as error:
                raise PluginBuildError(f"{Path(command[0]).name} took over 300 s") from error
            if done.returncode != 0:
                raise PluginBuildError(
                    f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()}"
                )
        os.replace(Path(work) / jar.name, jar)


def _jdk_tool(name: str) -> str:
    """A JDK tool next to $JAVA_HOME's java, else on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home) / "bin" / name, os.X_OK):
        return str(Path(java_home) / "bin" / name)
    found = shutil.which(name)
    if found is None:
        raise PluginBuildError(f"no `{name}`: Steward's Kafka plugins need a JDK (17+)")
    return found
