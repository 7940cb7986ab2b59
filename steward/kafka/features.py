"""Finishing a version upgrade: raising the cluster's finalized feature levels.

After every broker and controller runs the new Kafka, the cluster still speaks the old release's
metadata format until `metadata.version` (and the release's other features: `kraft.version`,
`transaction.version`, `group.version`, ...) are raised; that is `kafka-features upgrade
--release-version X.Y`, the last step of an upgrade. The controllers refuse a level that any
registered broker or controller does not support, so the step cannot run early by accident.

Levels are what the protocol carries: integers. Kafka's tools name `metadata.version` levels
after releases: in Kafka 4.3.1, 25 is "4.0-IV3", 27 "4.1-IV1", 29 "4.2-IV1", 30 "4.3-IV0".
"""

from __future__ import annotations

import re
import time
from functools import cache

from steward.kafka.admin import kafka_python_admin
from steward.kafka.errors import KafkaAdminError, client_errors
from steward.kafka.tools import newest_installed_version, run_tool

METADATA_VERSION = "metadata.version"
KRAFT_VERSION = "kraft.version"
"""Left at 0: Steward runs a static controller quorum (see `node_config.quorum_voters`), and
raising kraft.version to 1 would turn it into a dynamic one."""
FEATURE_COMMAND = "org.apache.kafka.tools.FeatureCommand"
_MAPPING_LINE = re.compile(r"^([a-z][a-z0-9._-]*)=(\d+)\b")


class FeatureError(KafkaAdminError):
    """Feature levels could not be read or raised, or the change would be a downgrade."""


def finalized_features(bootstrap: str, timeout: float = 10.0) -> dict[str, int]:
    """Every finalized feature and its level as a broker reports it, e.g.
    {"metadata.version": 30, "kraft.version": 1, "transaction.version": 2, ...}."""
    with (
        client_errors(FeatureError, "describing features"),
        kafka_python_admin(bootstrap, timeout) as client,
    ):
        described = client.describe_features()
    return {
        name: int(levels["finalized"][1])
        for name, levels in described.items()
        if "finalized" in levels
    }


def finalized_metadata_version(bootstrap: str, timeout: float = 10.0) -> int:
    """The cluster's finalized `metadata.version` level, e.g. 30 (Kafka 4.3's "4.3-IV0")."""
    features = finalized_features(bootstrap, timeout)
    if METADATA_VERSION not in features:
        raise FeatureError("the cluster reports no finalized metadata.version")
    return features[METADATA_VERSION]


def release_version(kafka_version: str) -> str:
    """The release a feature mapping is asked for: "4.3" for Kafka 4.3.1."""
    parts = kafka_version.split(".")
    if len(parts) < 2 or not all(part.isdigit() for part in parts):
        raise FeatureError(f"{kafka_version!r} is not a Kafka version")
    return f"{parts[0]}.{parts[1]}"


def release_features(kafka_version: str, timeout: float = 60.0) -> dict[str, int]:
    """The feature levels Kafka `kafka_version`'s release finalizes, as `kafka-features
    version-mapping --release-version X.Y` reports them (asked of the newest installed Kafka, which
    knows every release up to its own; no cluster involved, and remembered per release)."""
    return dict(_release_features(release_version(kafka_version), timeout))


@cache
def _release_features(release: str, timeout: float) -> dict[str, int]:
    newest = newest_installed_version(FeatureError)
    arguments = ["version-mapping", "--release-version", release]
    run = run_tool(newest, FEATURE_COMMAND, arguments, timeout=timeout, error_type=FeatureError)
    levels = {
        match.group(1): int(match.group(2))
        for match in map(_MAPPING_LINE.match, run.stdout.splitlines())
        if match
    }
    if run.returncode != 0 or METADATA_VERSION not in levels:
        raise FeatureError(f"Kafka {newest} cannot map release {release} to features: {run.output}")
    return levels


def upgrade_metadata_version(bootstrap: str, kafka_version: str, timeout: float = 60.0) -> bool:
    """Raise `metadata.version` and every other feature to the levels of Kafka `kafka_version`'s
    release (the `kafka-features upgrade --release-version X.Y` of an upgrade's last step), and
    wait until a broker reports the new metadata.version. True when something was raised, False
    when the cluster was already there.

    Refuses, with FeatureError, when the cluster's metadata.version is above the release's: Kafka
    cannot downgrade metadata. Other features already above the release's level are left as
    they are. `kraft.version` is never raised (see KRAFT_VERSION)."""
    deadline = time.monotonic() + timeout
    target = release_features(kafka_version)
    current = finalized_features(bootstrap, min(timeout, 10.0))
    have, want = current.get(METADATA_VERSION, 0), target[METADATA_VERSION]
    if have > want:
        raise FeatureError(
            f"refusing to downgrade metadata.version from level {have} to {want} (Kafka "
            f"{release_version(kafka_version)}): Kafka cannot downgrade metadata"
        )
    raise_to = {
        name: level
        for name, level in target.items()
        if current.get(name, 0) < level and name != KRAFT_VERSION
    }
    if not raise_to:
        return False
    with (
        client_errors(FeatureError, f"raising features to Kafka {release_version(kafka_version)}"),
        kafka_python_admin(bootstrap, min(timeout, 30.0)) as client,
    ):
        results = client.update_features(raise_to, timeout_ms=int(timeout * 1000))
    refused = {name: result for name, result in results.items() if result != "OK"}
    if refused:
        details = "; ".join(f"{name}: {result}" for name, result in sorted(refused.items()))
        raise FeatureError(f"the controller refused to upgrade features: {details}")
    while finalized_features(bootstrap, min(timeout, 10.0)).get(METADATA_VERSION, 0) < want:
        if time.monotonic() > deadline:
            raise FeatureError(f"metadata.version {want} was accepted but not seen in {timeout} s")
        time.sleep(0.2)
    return True
