"""The web console in a real headless Chromium against a real Steward and real Kafka: a user
signs in with an access key, creates a cluster from the form (after the API refused a first
try), watches it go ACTIVE, creates a topic, sees its charts fill with data points, resets a
consumer group's offsets after a dry run, scales the cluster and follows the operation live,
and deletes the cluster once its name is confirmed. A wrong key never gets past the sign-in.

Screenshots of the main pages go to the test's temporary directory, and to
$STEWARD_CONSOLE_SCREENSHOTS when it is set (the README's come from there: docs/images/)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from tests.console_browser import chromium, sign_in
from tests.integration.harness import Steward

pytestmark = pytest.mark.integration

LONG = 420_000
"""Milliseconds: a cluster's create or scale on a busy two-core machine."""


@pytest.fixture(scope="module")
def steward(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Steward]:
    instance = Steward(
        tmp_path_factory.mktemp("steward"), extra_env={"STEWARD_METRICS_INTERVAL": "2"}
    )
    instance.start()
    yield instance
    instance.cleanup()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = browser.new_page(viewport={"width": 1400, "height": 900})
    yield opened
    opened.close()


@pytest.fixture
def shots(tmp_path: Path) -> Any:
    published = os.environ.get("STEWARD_CONSOLE_SCREENSHOTS")

    def shoot(page: Any, name: str, full_page: bool = True) -> None:
        path = tmp_path / f"console-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        if published:
            Path(published).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(published) / path.name)

    return shoot


def fill_create_form(page: Any, name: str, brokers: int, zones: str) -> None:
    page.fill("#create-clusterName", name)
    page.fill("#create-numberOfBrokerNodes", str(brokers))
    page.fill("#create-clientSubnets", zones)
    page.fill("#create-instanceType", "kafka.t3.small")
    page.select_option("#create-clientBroker", "PLAINTEXT")
    page.check("#create-exporters")


def produce_and_lag(bootstrap: str, topic: str, group: str) -> None:
    """200 messages, of which a consumer of `group` reads and commits some, then leaves: the
    group has lag, and no members (so its offsets may be reset)."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(200):
        producer.produce(topic, key=str(i % 7), value=b"x" * 512)
    assert producer.flush(60) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    read = 0
    for _ in range(120):
        message = consumer.poll(1.0)
        if message is not None and message.error() is None:
            read += 1
            if read >= 50:
                break
    consumer.commit(asynchronous=False)
    consumer.close()
    assert read >= 50


class SteadyProducer(threading.Thread):
    """Some messages a second to `topic` until stopped, so that the charts have a line."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50})
        self.topic = topic
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            for _ in range(20):
                self.producer.produce(self.topic, value=b"y" * 1024)
            self.producer.poll(0)
        self.producer.flush(30)

    def stop(self) -> None:
        self.stopped.set()
        self.join(60)


def test_a_wrong_key_is_refused(steward: Steward, page: Any) -> None:
    access_key_id, _ = steward.credentials()
    sign_in(page, steward.endpoint, access_key_id, "wrong-secret")
    refusal = page.wait_for_selector("#sign-in .error[role=alert]")
    assert "Sign-in refused" in refusal.inner_text()
    assert page.evaluate("() => sessionStorage.length") == 0


def test_a_user_runs_a_cluster_from_the_console(steward: Steward, page: Any, shots: Any) -> None:
    sign_in(page, steward.endpoint, *steward.credentials())
    page.wait_for_selector("table.clusters")

    page.click("a.button:has-text('Create cluster')")
    page.wait_for_selector("#create-form")
    fill_create_form(page, "console", brokers=2, zones="az-a, az-b, az-c")
    page.click("#create-submit")
    refusal = page.wait_for_selector("#create-form .error[role=alert]")
    assert refusal.inner_text().strip()
    assert steward.client().list_clusters_v2()["ClusterInfoList"] == []
    shots(page, "create")

    fill_create_form(page, "console", brokers=1, zones="az-a")
    page.click("#create-submit")
    page.wait_for_selector("#cluster-state", timeout=30_000)
    page.wait_for_selector("#cluster-state[data-state=ACTIVE]", timeout=LONG)
    arn = steward.client().list_clusters_v2()["ClusterInfoList"][0]["ClusterArn"]
    page.wait_for_selector(".broker[data-broker='1'] .badge[data-state=RUNNING]", timeout=60_000)
    bootstrap = page.inner_text("code.bootstrap[data-kind=bootstrapBrokerString]")
    assert page.inner_text(".operation[data-operation=CREATE] .badge") == "UPDATE_COMPLETE"

    page.click("a.tab:has-text('Topics')")
    page.fill("#topic-name", "orders")
    page.fill("#topic-form input[name=partitionCount]", "3")
    page.fill("#topic-form input[name=replicationFactor]", "1")
    page.click("#topic-form button[type=submit]")
    page.wait_for_selector("#topics a:has-text('orders')", timeout=60_000)
    produce_and_lag(bootstrap, "orders", "billing")
    page.click("#topics a:has-text('orders')")
    page.wait_for_selector("#partitions tbody tr:nth-child(3)")
    assert "az-a" in page.inner_text("#partitions")
    shots(page, "topic")

    page.click("a.tab:has-text('Consumer groups')")
    page.click("#groups a:has-text('billing')", timeout=60_000)
    page.wait_for_selector("#reset-topic option[value=orders]", state="attached", timeout=30_000)
    assert page.is_disabled("#reset-apply")
    page.select_option("#reset-to", "earliest")
    page.click("#reset-dry-run")
    page.wait_for_selector("#reset-preview:has-text('Dry run')")
    page.click("#reset-apply")
    page.wait_for_selector("#reset-preview:has-text('Offsets moved')")
    shots(page, "group")

    page.click("a.tab:has-text('Charts')")
    page.wait_for_selector(
        "figure.chart[data-metric='Under-replicated partitions']:not([data-points='0'])",
        timeout=60_000,
    )
    page.click(".ranges button[data-range='5m']")
    traffic = SteadyProducer(bootstrap, "orders")
    traffic.start()
    try:
        # the charts redraw as samples arrive: the line grows while the page stays open
        page.wait_for_function(
            """() => Number(document.querySelector(
                "#charts[data-range='5m'] figure.chart[data-metric='Messages in']"
            )?.dataset.points) >= 5""",
            timeout=180_000,
        )
    finally:
        traffic.stop()
    assert page.query_selector_all("figure.chart polyline.line")
    shots(page, "charts")

    page.click("a.tab:has-text('Overview')")
    page.wait_for_selector("#cluster-state[data-state=ACTIVE]")
    page.click("#action-scale")
    page.fill("#scale-brokers", "2")
    page.click("#action-submit")
    page.wait_for_selector(
        "#followed-operation .operation[data-operation=INCREASE_BROKER_COUNT]", timeout=30_000
    )
    shots(page, "scaling", full_page=False)
    page.wait_for_selector(
        "#followed-operation .operation[data-state=UPDATE_COMPLETE]", timeout=LONG
    )
    page.click("dialog .buttons button:has-text('Close')")
    page.wait_for_selector("#broker-count:has-text('2')", timeout=30_000)
    page.wait_for_selector("#cluster-state[data-state=ACTIVE]", timeout=60_000)
    page.wait_for_selector(".broker[data-broker='2'] .badge[data-state=RUNNING]", timeout=60_000)
    shots(page, "cluster")
    page.goto(f"{steward.endpoint}/console/#/clusters")
    page.wait_for_selector("table.clusters a.cluster-name")
    shots(page, "clusters")

    page.click("table.clusters a.cluster-name")
    page.wait_for_selector("#cluster-state[data-state=ACTIVE]")
    page.click("#action-delete")
    page.fill("#delete-confirm", "not-its-name")
    page.click("#action-submit")
    page.wait_for_selector("dialog .error[role=alert]:has-text('does not match')")
    assert steward.client().describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["State"] == "ACTIVE"
    page.fill("#delete-confirm", "console")
    page.click("#action-submit")
    page.wait_for_selector("dialog:has-text('Deleting')")
    page.click("dialog .buttons button:has-text('Close')")
    page.wait_for_selector("#cluster-gone", timeout=120_000)
    steward.wait_until_gone(arn, timeout=60)
