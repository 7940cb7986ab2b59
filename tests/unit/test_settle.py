"""Which brokers a scale operation waits for before it moves replicas: the young ones that still
use several times what the cluster's settled brokers use."""

from __future__ import annotations

from steward.control.steps.replicas import (
    SETTLE_FLOOR,
    SETTLE_YOUNG,
    settled_cpu,
    warming_brokers,
)

OLD = SETTLE_YOUNG + 600.0
NEW = 20.0


def test_new_brokers_compiling_on_a_starved_machine_are_waited_for() -> None:
    # Two cores, nine JVMs: the new brokers get only a quarter core each, yet that is several
    # times what the serving brokers need.
    rates = {1: 0.08, 2: 0.10, 3: 0.09, 4: 0.25, 5: 0.30, 6: 0.22}
    ages = {1: OLD, 2: OLD, 3: OLD, 4: NEW, 5: NEW, 6: NEW}
    assert warming_brokers(rates, ages) == {4: 0.25, 5: 0.30, 6: 0.22}


def test_new_brokers_that_went_quiet_have_settled() -> None:
    rates = {1: 0.08, 2: 0.10, 3: 0.09, 4: 0.02, 5: 0.12, 6: 0.01}
    ages = {1: OLD, 2: OLD, 3: OLD, 4: NEW, 5: NEW, 6: NEW}
    assert warming_brokers(rates, ages) == {}


def test_old_brokers_are_never_waited_for_however_busy() -> None:
    rates = {1: 0.9, 2: 0.01, 3: 0.01}
    ages = {1: OLD, 2: OLD, 3: OLD}
    assert warming_brokers(rates, ages) == {}


def test_a_cluster_without_settled_brokers_is_held_against_the_floor() -> None:
    ages = {1: NEW, 2: NEW, 3: NEW}
    assert settled_cpu({1: 0.5, 2: 0.5, 3: 0.5}, ages) == SETTLE_FLOOR
    assert warming_brokers({1: 0.5, 2: SETTLE_FLOOR / 2, 3: 0.2}, ages) == {1: 0.5, 3: 0.2}


def test_a_broker_whose_start_is_unknown_counts_as_settled() -> None:
    assert warming_brokers({1: 0.1, 2: 0.9}, {1: OLD}) == {}
