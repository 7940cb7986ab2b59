"""Kafka version numbers, and which version a cluster may move to."""

from __future__ import annotations

from collections.abc import Sequence


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def compatible_targets(source: str, available: Sequence[str]) -> list[str]:
    """Versions a cluster on `source` can move to: any newer release (Kafka upgrades in place,
    finishing with the metadata.version upgrade), or an older patch release of the same minor
    line (same metadata.version, so Kafka allows it). Older minor lines are refused: once the
    metadata.version is raised, Kafka cannot go back."""
    key = version_key(source)
    return sorted(
        (
            v
            for v in available
            if v != source and (version_key(v) > key or version_key(v)[:2] == key[:2])
        ),
        key=version_key,
    )
