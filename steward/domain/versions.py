"""Kafka version numbers, MSK's names for release lines, and which version a cluster may move to.

A cluster's `KafkaVersion` is either an Apache Kafka release (`4.1.2`) or MSK's name for a minor
line (`4.1.x.kraft`: "the newest patch release of 4.1, in KRaft mode"). A line name is pinned to
a release when the cluster is made or upgraded (`release_for`): the nodes run that release, and
the cluster keeps the name as the user gave it, as MSK shows it.

Steward runs Kafka 4.x only, and Kafka 4 has no ZooKeeper mode: MSK's 3.x names (`3.8.x`,
`3.9.x`, `3.7.x.kraft`) and older releases are refused (`unsupported_version_reason`), not mapped
onto 4.x, so that a cluster never runs a major release its user did not ask for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_LINE_NAME = re.compile(r"^(\d+)\.(\d+)\.x(\.kraft)?$")
_MSK_NAME = re.compile(r"^(\d+)\.(\d+)\.(\d+|x)(\.[a-z]+)*$")

LINE_SUFFIX = ".x.kraft"
FIRST_SUPPORTED_MAJOR = 4


def is_release(version: str) -> bool:
    return bool(_RELEASE.match(version))


def line_name(line: tuple[int, int]) -> str:
    """MSK's name of a KRaft minor line: (4, 1) -> `4.1.x.kraft`."""
    return f"{line[0]}.{line[1]}{LINE_SUFFIX}"


def line_of(version: str) -> tuple[int, int]:
    """The (major, minor) line of a release or of a line name."""
    match = _MSK_NAME.match(version)
    if match is None:
        raise ValueError(f"{version!r} is not a Kafka version")
    return int(match.group(1)), int(match.group(2))


def version_key(version: str) -> tuple[int, ...]:
    """Order of versions: by release number; a line name after every release of its line."""
    if is_release(version):
        return tuple(int(part) for part in version.split("."))
    major, minor = line_of(version)
    return (major, minor, 1 << 30)


def line_names(releases: Iterable[str]) -> list[str]:
    """MSK's names of the lines the releases make up, oldest first."""
    return [line_name(line) for line in sorted({line_of(r) for r in releases})]


def release_for(version: str, releases: Sequence[str]) -> str | None:
    """The release a cluster of `version` runs: the release itself, or for a line name the newest
    release of its line; None when there is none."""
    if version in releases and is_release(version):
        return version
    match = _LINE_NAME.match(version)
    if match is None or match.group(3) is None:
        return None
    line = (int(match.group(1)), int(match.group(2)))
    candidates = [r for r in releases if is_release(r) and line_of(r) == line]
    return max(candidates, key=version_key) if candidates else None


def unsupported_version_reason(version: str) -> str:
    """Why Steward does not run `version`, in words for a user."""
    match = _MSK_NAME.match(version)
    if match is not None and int(match.group(1)) < FIRST_SUPPORTED_MAJOR:
        return (
            f"Kafka {version} is not available in Steward: Steward runs Apache Kafka 4 brokers "
            "in KRaft mode only (Kafka 4 has no ZooKeeper mode, and Steward does not run 3.x "
            "or older releases). Create the cluster with 4.0.x.kraft or a newer version; "
            "Kafka 4 brokers serve clients of 2.1 and newer."
        )
    match = _LINE_NAME.match(version)
    if match is not None and match.group(3) is None:
        return f"Unsupported Kafka version {version}; MSK names Kafka 4 lines {version}.kraft."
    return f"Unsupported Kafka version {version}."


def compatible_targets(source: str, available: Sequence[str]) -> list[str]:
    """Versions a cluster on `source` can move to: any release or line name of a newer line
    (Kafka upgrades in place, finishing with the metadata.version upgrade), or another release or
    the name of the same minor line (same metadata.version, so Kafka allows it). Older minor lines
    are refused: once the metadata.version is raised, Kafka cannot go back."""
    line = line_of(source)
    return sorted((v for v in available if v != source and line_of(v) >= line), key=version_key)
