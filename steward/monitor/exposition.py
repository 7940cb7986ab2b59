"""Reading Prometheus text exposition (what the JMX exporter on 11001 and the node metrics on
11002 serve) into plain values keyed by sample name and labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]


def labels_key(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


@dataclass
class Exposition:
    """The samples of one scrape: sample name -> labels -> value."""

    values: dict[str, dict[Labels, float]] = field(default_factory=dict)

    def get(self, sample: str, /, **labels: str) -> float | None:
        return self.values.get(sample, {}).get(labels_key(labels))

    def series(self, name: str) -> Iterable[tuple[dict[str, str], float]]:
        for labels, value in self.values.get(name, {}).items():
            yield dict(labels), value

    def merge(self, other: Exposition) -> Exposition:
        merged = {name: dict(by_labels) for name, by_labels in self.values.items()}
        for name, by_labels in other.values.items():
            merged.setdefault(name, {}).update(by_labels)
        return Exposition(merged)


def keep_only(text: str, prefixes: tuple[str, ...]) -> str:
    """The lines of `text` about metrics whose names start with one of `prefixes` (samples and
    their HELP and TYPE lines): parsing only those costs a fraction of parsing everything."""
    kept = []
    for line in text.splitlines():
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[2].startswith(prefixes):
                kept.append(line)
        elif line.startswith(prefixes):
            kept.append(line)
    return "\n".join(kept) + "\n"


def parse_exposition(text: str, prefixes: tuple[str, ...] | None = None) -> Exposition:
    """Parse Prometheus text format, only the metrics named with `prefixes` when given; raises
    ValueError on text that is not Prometheus text."""
    if prefixes is not None:
        text = keep_only(text, prefixes)
    values: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values.setdefault(sample.name, {})[labels_key(sample.labels)] = float(sample.value)
    return Exposition(values)
