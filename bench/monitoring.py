"""What Steward's metrics cost and how fresh they are.

One Steward makes one cluster with open monitoring on (JMX and node exporters; PER_BROKER
metrics), BROKERS brokers in one zone (kafka.t3.small, Kafka 4.3.1). Then:

1. Scrape cost, two ways side by side:
   - the scraper itself, run in this process against the Steward's store: the process's CPU time
     over PASSES passes (one a second), per pass and per node scraped, parsing only the metrics
     Steward uses (as it does) and, for comparison, everything the exporters serve;
   - the control plane's CPU time (user + system, from /proc) over WINDOW seconds, with its
     scraper off and then on (every INTERVAL seconds); the control plane is restarted between
     the two (Kafka keeps running). On a busy machine this difference is within the noise of
     the health monitor's own work.
2. Metric delay: a producer writes a burst of records; the time from the end of the burst until
   Steward's metrics API reports a MessagesInPerSec datapoint after it, a few times over.

    python bench/monitoring.py [--brokers 3] [--interval 10] [--window 60] [--passes 20]\
        [--bursts 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from confluent_kafka import Producer  # noqa: E402

from steward.agent import processes  # noqa: E402
from steward.kafka.topics import create_topic  # noqa: E402
from steward.monitor.scraper import MetricsScraper, scrape_targets  # noqa: E402
from steward.monitor.store import MetricStore  # noqa: E402
from steward.store.store import Store  # noqa: E402
from tests.integration.harness import Steward, provisioned  # noqa: E402

ON = {
    "Prometheus": {
        "JmxExporter": {"EnabledInBroker": True},
        "NodeExporter": {"EnabledInBroker": True},
    }
}


def cpu_seconds(pid: int) -> float:
    stat = processes.read_stat(pid)
    if stat is None:
        raise RuntimeError(f"process {pid} is gone")
    return float(stat.cpu_seconds)


def control_plane_cpu(steward: Steward, window: float) -> float:
    assert steward.process is not None
    time.sleep(5)  # past the start-up
    before = cpu_seconds(steward.process.pid)
    time.sleep(window)
    return cpu_seconds(steward.process.pid) - before


def scraper_cpu(steward: Steward, passes: int, parse_all: bool) -> tuple[float, int]:
    """CPU seconds of one scrape pass run here, and how many nodes it read."""
    store = Store(f"sqlite:///{steward.home / 'steward.db'}")
    with tempfile.TemporaryDirectory() as scratch:
        metrics = MetricStore(Path(scratch) / "metrics.db")
        scraper = MetricsScraper(store, metrics)
        if parse_all:
            scraper.prefixes = None
        nodes = len(scrape_targets(store))
        scraper.scrape_once()  # warm: connections, the first rates
        spent = 0.0
        for _ in range(passes):
            time.sleep(1.0)
            before = time.process_time()
            scraper.scrape_once()
            spent += time.process_time() - before
        scraper.close()
        metrics.close()
    store.close()
    return spent / passes, nodes


def restart(steward: Steward, interval: float) -> None:
    steward.stop()
    steward.extra_env["STEWARD_METRICS_INTERVAL"] = str(interval)
    steward.start()


def burst_seen(steward: Steward, arn: str, brokers: int, after: float) -> bool:
    """Whether any broker's MessagesInPerSec has a non-zero sample after `after`."""
    with steward.http() as http:
        for broker in range(1, brokers + 1):
            answer = http.get(
                f"/steward/v1/clusters/{quote(arn, safe='')}/metrics/MessagesInPerSec",
                params={
                    "startTime": after,
                    "endTime": time.time() + 60,
                    "period": 1,
                    "statistic": "Maximum",
                    "brokerId": str(broker),
                },
            )
            answer.raise_for_status()
            if any(p["value"] > 0 for p in answer.json()["datapoints"]):
                return True
    return False


def metric_delay(
    steward: Steward, arn: str, bootstrap: str, brokers: int, interval: float
) -> float:
    topic = f"delay-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    time.sleep(2 * interval + 1)  # quiet: the rates go back to zero
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for _ in range(2000):
        producer.produce(topic, b"x" * 100, partition=0)
    producer.flush(30)
    produced = time.time()
    deadline = produced + 10 * interval
    while time.time() < deadline:
        if burst_seen(steward, arn, brokers, produced - 0.5):
            return time.time() - produced
        time.sleep(0.2)
    raise RuntimeError("the burst never showed in MessagesInPerSec")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", type=int, default=3)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("--bursts", type=int, default=3)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="steward-bench-monitoring-"))
    steward = Steward(home, extra_env={"STEWARD_METRICS_INTERVAL": "0"})
    try:
        steward.start()
        spec = provisioned(
            brokers=args.brokers,
            zones=("az-a",),
            OpenMonitoring=ON,
            EnhancedMonitoring="PER_BROKER",
        )
        spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
        client = steward.client()
        arn = client.create_cluster_v2(ClusterName="bench", Provisioned=spec)["ClusterArn"]
        info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=900)
        if info["State"] != "ACTIVE":
            raise RuntimeError(f"the cluster is {info['State']}: {info.get('StateInfo')}")
        bootstrap = client.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]

        filtered, nodes = scraper_cpu(steward, args.passes, parse_all=False)
        everything, _ = scraper_cpu(steward, args.passes, parse_all=True)
        print(f"brokers {args.brokers}, nodes scraped {nodes}")
        print(f"{'scraper CPU per pass':28}{'used metrics':>14}{'everything':>14}")
        print(f"{'  ms per pass':28}{filtered * 1000:>14.1f}{everything * 1000:>14.1f}")
        print(f"{'  ms per node':28}{filtered / nodes * 1000:>14.1f}", end="")
        print(f"{everything / nodes * 1000:>14.1f}")

        restart(steward, 0)
        off = control_plane_cpu(steward, args.window)
        restart(steward, args.interval)
        on = control_plane_cpu(steward, args.window)
        passes = args.window / args.interval
        per_pass = (on - off) / passes
        print(f"control plane, scraping every {args.interval:g} s")
        print(f"{'':28}{'scraper off':>14}{'scraper on':>14}")
        print(f"{'control plane CPU s / min':28}{off * 60 / args.window:>14.3f}", end="")
        print(f"{on * 60 / args.window:>14.3f}")
        print(f"difference: {per_pass * 1000:.1f} ms CPU per pass")
        delays = [
            metric_delay(steward, arn, bootstrap, args.brokers, args.interval)
            for _ in range(args.bursts)
        ]
        print(
            "metric delay (burst end -> MessagesInPerSec in the API): "
            + ", ".join(f"{d:.1f}" for d in delays)
            + f" s; median {statistics.median(delays):.1f} s"
        )
    finally:
        steward.cleanup()


if __name__ == "__main__":
    main()
