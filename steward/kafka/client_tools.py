"""Client libraries that go on the class path of Kafka's own console tools, resolved from Maven
Central by `client-tools-pom.xml`: Amazon's aws-msk-iam-auth (SASL `AWS_MSK_IAM` and its
OAUTHBEARER login handler), which MSK's Java users sign in with. Resolved once into the Kafka
cache; the tests of IAM sign-in and its benchmark use them."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from steward.kafka.distribution import DistributionError
from steward.settings import kafka_cache_dir

AWS_MSK_IAM_AUTH_VERSION = "2.4.0"
POM = "client-tools-pom.xml"


def aws_msk_iam_auth_libs(cache: Path | None = None, timeout: float = 600.0) -> Path:
    """The directory of aws-msk-iam-auth's jars and their dependencies, resolved on first use."""
    root = (cache or kafka_cache_dir()) / "client-tools"
    libs = root / f"aws-msk-iam-auth-{AWS_MSK_IAM_AUTH_VERSION}"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise DistributionError("Maven (mvn) is needed to resolve aws-msk-iam-auth")
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".resolve.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return libs
        with tempfile.TemporaryDirectory(prefix="client-tools-", dir=root) as work:
            pom = Path(work) / POM
            pom.write_bytes(resources.files("steward.kafka").joinpath(POM).read_bytes())
            staging = Path(work) / "libs"
            command = [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                f"-Daws-msk-iam-auth.version={AWS_MSK_IAM_AUTH_VERSION}",
                f"-Dsteward.libs={staging}",
                "dependency:copy-dependencies",
            ]
            try:
                done = subprocess.run(
                    command,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    env={**os.environ, "MAVEN_OPTS": os.environ.get("MAVEN_OPTS", "-Xmx512m")},
                )
            except subprocess.TimeoutExpired as error:
                raise DistributionError(f"Maven took over {timeout:.0f} s") from error
            if done.returncode != 0 or not any(staging.glob("aws-msk-iam-auth-*.jar")):
                tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
                raise DistributionError(
                    "Maven could not resolve aws-msk-iam-auth:\n" + "\n".join(tail)
                )
            if libs.exists():
                shutil.rmtree(libs)
            staging.rename(libs)
            marker.write_text(AWS_MSK_IAM_AUTH_VERSION + "\n")
    return libs
