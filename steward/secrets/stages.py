"""Staging labels, as Secrets Manager moves them between a secret's versions.

A label is on at most one version of a secret. AWSCURRENT is on the version a reader gets; when
it moves, AWSPREVIOUS goes to the version it left. A version left with no label is deprecated:
kept, but no longer listed by DescribeSecret. These functions only compute the new labels
(version id -> labels); the store writes them.
"""

from __future__ import annotations

from steward.secrets.errors import InvalidParameterException, LimitExceededException

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
PENDING = "AWSPENDING"
MAX_LABELS_PER_VERSION = 20
MAX_LABEL_LENGTH = 256

Stages = dict[str, list[str]]
"""Each version's labels, by version id."""


def holder(stages: Stages, label: str) -> str | None:
    """The version that has `label`, if any."""
    return next((version for version, labels in stages.items() if label in labels), None)


def check_labels(labels: list[str]) -> list[str]:
    """`labels` without repeats; InvalidParameterException for one that cannot be a label."""
    for label in labels:
        if not 1 <= len(label) <= MAX_LABEL_LENGTH:
            raise InvalidParameterException(
                f"A staging label is 1 to {MAX_LABEL_LENGTH} characters long."
            )
    unique = list(dict.fromkeys(labels))
    if len(unique) > MAX_LABELS_PER_VERSION:
        raise LimitExceededException(
            f"A version of a secret can have at most {MAX_LABELS_PER_VERSION} staging labels."
        )
    return unique


def attach(stages: Stages, version_id: str, labels: list[str]) -> Stages:
    """`stages` once `labels` are on `version_id` (a new version or a known one), each taken from
    the version that had it."""
    result = {version: list(have) for version, have in stages.items()}
    result.setdefault(version_id, [])
    for label in labels:
        left = holder(result, label)
        if left == version_id:
            continue
        if left is not None:
            result[left].remove(label)
        result[version_id].append(label)
        if label == CURRENT and left is not None:
            _place_previous(result, left)
    if len(result[version_id]) > MAX_LABELS_PER_VERSION:
        raise LimitExceededException(
            f"A version of a secret can have at most {MAX_LABELS_PER_VERSION} staging labels."
        )
    return result


def _place_previous(stages: Stages, version_id: str) -> None:
    before = holder(stages, PREVIOUS)
    if before is not None:
        stages[before].remove(PREVIOUS)
    stages[version_id].append(PREVIOUS)


def move(stages: Stages, label: str, move_to: str | None, remove_from: str | None) -> Stages:
    """UpdateSecretVersionStage: `label` leaves `remove_from` and goes to `move_to` (either may be
    None, not both). The version that has the label must be named in `remove_from` unless it is
    `move_to`; AWSCURRENT can only move, never be removed."""
    check_labels([label])
    if move_to is None and remove_from is None:
        raise InvalidParameterException(
            "You must specify MoveToVersionId, RemoveFromVersionId or both."
        )
    for version in (move_to, remove_from):
        if version is not None and version not in stages:
            raise InvalidParameterException(f"The secret has no version {version}.")
    current = holder(stages, label)
    if current is not None and current != move_to and remove_from != current:
        raise InvalidParameterException(
            f"The staging label {label} is currently attached to version {current}, so you must "
            "explicitly reference that version in RemoveFromVersionId."
        )
    if remove_from is not None and remove_from != current:
        raise InvalidParameterException(
            f"The staging label {label} is not attached to version {remove_from}."
        )
    if move_to is None:
        if label == CURRENT:
            raise InvalidParameterException(
                f"You can only move the staging label {CURRENT} to another version: a secret "
                "always has a current version."
            )
        assert current is not None  # remove_from names it
        result = {version: list(have) for version, have in stages.items()}
        result[current].remove(label)
        return result
    return attach(stages, move_to, [label])
