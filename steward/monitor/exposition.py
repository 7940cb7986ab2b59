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


def parse_exposition(text: str) -> Exposition:
    """Parse Prometheus text format; raises ValueError on text that is not."""
    values: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values.setdefault(sample.name, {})[labels_key(sample.labels)] = float(sample.value)
    return Exposition(values)
