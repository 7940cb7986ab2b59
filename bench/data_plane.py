"""The data plane: a Steward cluster against the same Kafka started by hand, with Kafka's own tools.

Steward configures Kafka and never proxies it, so its clusters must move data as fast as the same
Kafka started by hand. Three sides run at once on this machine, each 3 brokers and 3 dedicated
KRaft controllers, one of each per zone, each node on its own loopback address, Kafka 4.3.1:

- **by hand**: the nodes Steward would run for a `kafka.m5.large` cluster (the same rendered
  `server.properties`, heap, JVM options, log4j configuration and TLS key type), formatted with
  `kafka-storage` and started as plain JVMs: no agent, no control plane, no class archive, no
  encryption at rest;
- **Steward**: `create_cluster_v2` through boto3 to a Steward with encryption at rest off;
- **Steward at rest**: the same to a second Steward with encryption at rest on (gocryptfs), where
  the host has it. The by-hand side has none, so its ratio is the price of encryption at rest;
- **by hand again** (`--sides hand,hand-again`, not run by default): a second by-hand cluster,
  identical to the first, so that its ratio shows how far two identical clusters differ on this
  machine: the noise any other ratio has to be read against.

Every cluster is `TLS_PLAINTEXT` between clients and brokers (CLIENT on 9092 and CLIENT_TLS on
9094) and plaintext inside the cluster, so one cluster serves both transports. In each round, for
each transport, each workload runs on every side in turn (the order of the sides alternates from
round to round), always on a fresh topic of 6 partitions, RF 3, min ISR 2:

- `ProducerPerformance`, 1 KiB records, acks=all and acks=1, with the producer's default batching
  and tuned (linger.ms=10, batch.size=256 KiB): MB/s;
- `ConsumerPerformance` reading back what the tuned acks=all producer wrote: MB/s;
- `EndToEndLatency`, acks=all, 1 KiB records: p50 / p99 / p99.9 in ms.

All tools are started as Java processes on the distribution's class path with the same options.
Prints every figure with the load average of that moment, then the medians per side and the
ratio Steward / by hand (for latencies by hand / Steward, so that above 1 is better everywhere)
with, for throughputs, the ratio of each round (the two sides measured back to back),
then the differences between the brokers' effective configurations (`KafkaConfig values` in each
side's server.log) and JVM command lines. Ends every process it started and frees every port.

    python bench/data_plane.py                               # full run: a warm-up round, 3 rounds
    python bench/data_plane.py --rounds 1 --records 20000    # smoke run
    python bench/data_plane.py --sides hand,steward --transports plaintext --workloads e2e
    python bench/data_plane.py --steward-cgroups off         # Steward's nodes without CPU weights
    python bench/data_plane.py --sides hand,hand-again       # two identical clusters: the noise
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from confluent_kafka.admin import AdminClient  # noqa: E402

from steward.agent.cgroups import CGROUP_ROOT_ENV  # noqa: E402
from steward.agent.spec import NodeSpec  # noqa: E402
from steward.control.node_specs import build_node_spec  # noqa: E402
from steward.control.placement import Placer, new_directory_id  # noqa: E402
from steward.crypto.certificates import (  # noqa: E402
    issue_node_certificate,
    make_certificate_authority,
)
from steward.domain.model import (  # noqa: E402
    BrokerNodeGroup,
    ClientBroker,
    Cluster,
    ClusterSpec,
    ClusterState,
    EncryptionInTransit,
    utcnow,
)
from steward.kafka.distribution import require_distribution  # noqa: E402
from steward.kafka.java import find_java  # noqa: E402
from steward.kafka.launch import kafka_server_command, store_locations  # noqa: E402
from steward.kafka.log4j import render_log4j2_properties  # noqa: E402
from steward.kafka.node_config import CLIENT, CLIENT_TLS  # noqa: E402
from steward.kafka.properties import render_properties  # noqa: E402
from steward.kafka.storage import storage_tool_command  # noqa: E402
from steward.kafka.topics import create_topic  # noqa: E402
from steward.security.certificates import advertised_hosts  # noqa: E402
from steward.settings import ENCRYPTION_AT_REST_ENV, Zone, encryption_supported  # noqa: E402
from tests.integration.harness import Steward, kill_all, next_octet, provisioned  # noqa: E402

VERSION = "4.3.1"
INSTANCE_TYPE = "kafka.m5.large"
ZONES = ("az-a", "az-b", "az-c")
RECORD_BYTES = 1024
PARTITIONS = 6
IN_TRANSIT = {"ClientBroker": "TLS_PLAINTEXT", "InCluster": False}
TUNED = ("linger.ms=10", "batch.size=262144")
TOOL_JVM = ("-Xms512m", "-Xmx512m", "-XX:+UseG1GC", "-Dlog4j2.level=OFF")
"""The clients' JVM: the same for every side, a full JIT and a heap that never limits them."""

_PRODUCED = re.compile(r"records sent, [\d.]+ records/sec \(([\d.]+) MB/sec\)")
_PERCENTILES = re.compile(r"50th = ([\d.]+), 99th = ([\d.]+), 99.9th = ([\d.]+)")


# --- clusters ---------------------------------------------------------------------------------


@dataclass
class Target:
    """A running cluster a side measures: where its clients connect, and its nodes' files."""

    name: str
    plaintext: str
    tls: str
    ca_file: Path
    stop: Callable[[], None]
    broker_logs: Callable[[], list[Path]]
    broker_pids: Callable[[], list[int]]
    results: dict[tuple[str, str], list[Measurement]] = field(default_factory=dict)

    def client_config(self, transport: str, work: Path) -> Path:
        """The Java clients' configuration file for `transport`."""
        path = work / f"{self.name}-{transport}.properties"
        if transport == "tls":
            lines = [
                "security.protocol=SSL",
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={self.ca_file}",
            ]
        else:
            lines = ["security.protocol=PLAINTEXT"]
        path.write_text("\n".join(lines) + "\n")
        return path

    def bootstrap(self, transport: str) -> str:
        return self.tls if transport == "tls" else self.plaintext


def wait_for_brokers(bootstrap: str, count: int, timeout: float = 300) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if len(admin.list_topics(timeout=2).brokers) >= count:
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.5)
    raise RuntimeError(f"brokers at {bootstrap} did not come up in {timeout:.0f} s")


def hand_specs(octet: int) -> tuple[Cluster, list[NodeSpec]]:
    """The node specs Steward renders for a 3-broker kafka.m5.large cluster with these
    addresses: the by-hand side runs exactly these properties, heap and JVM options."""
    zones = [Zone(name, f"127.{octet}.{i + 1}") for i, name in enumerate(ZONES)]
    arn = f"arn:aws:kafka:us-east-1:000000000000:cluster/byhand/{uuid.uuid4()}-1"
    transit = EncryptionInTransit(ClientBroker.TLS_PLAINTEXT, in_cluster=False)
    spec = ClusterSpec(
        VERSION, 3, BrokerNodeGroup(INSTANCE_TYPE, ZONES, 10), encryption_in_transit=transit
    )
    cluster = Cluster(
        arn, "byhand", spec, ClusterState.CREATING, utcnow(), "K0", new_directory_id()
    )
    nodes = Placer(zones, set()).place(
        arn, ZONES, [1, 2, 3], [1001, 1002, 1003], VERSION, INSTANCE_TYPE
    )
    specs = [build_node_spec(cluster, n, nodes, {}) for n in nodes]
    return cluster, specs


def start_by_hand(work: Path, name: str = "by hand") -> Target:
    """Format and start the six nodes as plain JVMs, the way Kafka's documentation does."""
    work.mkdir(parents=True, exist_ok=True)
    cluster, specs = hand_specs(next_octet())
    dist = require_distribution(VERSION)
    java = find_java()
    log4j = work / "log4j2.properties"
    log4j.write_text(render_log4j2_properties())
    authority = make_certificate_authority("by-hand CA")
    ca_file = work / "ca.pem"
    ca_file.write_text(authority.certificate_pem)
    pids: list[int] = []
    formats = []
    for node in specs:
        node_dir = work / node.key
        (node_dir / "logs").mkdir(parents=True)
        properties = {**node.properties, "log.dirs": str(node_dir / "data")}
        if node.properties.get("ssl.keystore.type") == "PEM":
            issued = issue_node_certificate(
                authority, f"{node.role}-{node.node_id}", advertised_hosts(node)
            )
            keystore, truststore = node_dir / "keystore.pem", node_dir / "truststore.pem"
            chain = issued.certificate_pem.strip() + "\n" + authority.certificate_pem
            keystore.write_text(issued.key_pem.strip() + "\n" + chain.strip() + "\n")
            truststore.write_text(authority.certificate_pem)
            properties.update(store_locations(keystore, truststore))
        (node_dir / "server.properties").write_text(render_properties(properties))
        command = storage_tool_command(
            java, dist.classpath, node_dir / "server.properties", cluster.kafka_cluster_id, []
        )
        formats.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
    for process in formats:
        if process.wait() != 0:
            raise RuntimeError("kafka-storage format failed")
    brokers: dict[int, Path] = {}
    for node in specs:
        node_dir = work / node.key
        command = kafka_server_command(
            node,
            java=java,
            classpath=dist.classpath,
            properties_file=node_dir / "server.properties",
            log4j_file=log4j,
            logs_dir=node_dir / "logs",
        )
        with (node_dir / "logs" / "stdout.log").open("wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        pids.append(process.pid)
        if node.role == "broker":
            brokers[process.pid] = node_dir / "logs" / "server.log"
    listeners = [n.properties["listeners"] for n in specs if n.role == "broker"]
    plaintext = ",".join(_listener(entry, CLIENT) for entry in listeners)
    tls = ",".join(_listener(entry, CLIENT_TLS) for entry in listeners)

    def stop() -> None:
        kill_all(pids)  # nothing to keep: no controlled shutdown needed

    target = Target(
        name,
        plaintext,
        tls,
        ca_file,
        stop=stop,
        broker_logs=lambda: list(brokers.values()),
        broker_pids=lambda: list(brokers),
    )
    try:
        wait_for_brokers(plaintext, 3)
    except BaseException:
        target.stop()
        raise
    return target


def _listener(listeners: str, name: str) -> str:
    for entry in listeners.split(","):
        if entry.startswith(f"{name}://"):
            return entry.split("://", 1)[1]
    raise KeyError(name)


def start_steward(name: str, work: Path, at_rest: str, cgroups: bool = True) -> Target:
    """A Steward of its own (encryption at rest `at_rest`) and one cluster on it, ACTIVE.
    Without `cgroups` its agents find no cgroup hierarchy (an empty directory stands in for
    one), so that its nodes run unweighted, in the benchmark's own group, as by hand."""
    env = {ENCRYPTION_AT_REST_ENV: at_rest}
    if not cgroups:
        (work / "no-cgroups").mkdir(exist_ok=True)
        env[CGROUP_ROOT_ENV] = str(work / "no-cgroups")
    steward = Steward(work / name.replace(" ", "-"), extra_env=env)
    steward.start()
    try:
        client = steward.client()
        spec = provisioned(EncryptionInfo={"EncryptionInTransit": IN_TRANSIT})
        arn = client.create_cluster_v2(ClusterName="dataplane", Provisioned=spec)["ClusterArn"]
        info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=600)
        if info["State"] != "ACTIVE":
            raise RuntimeError(f"{name}: {info.get('StateInfo')}")
        brokers = client.get_bootstrap_brokers(ClusterArn=arn)
        with steward.http() as http:
            ca = http.get(f"/steward/v1/clusters/{quote(arn, safe='')}/ca-certificate").json()
    except BaseException:
        steward.cleanup()
        raise
    ca_file = work / f"{name.replace(' ', '-')}-ca.pem"
    ca_file.write_text(ca["certificatePem"])
    home = steward.home

    def logs() -> list[Path]:
        # the nodes' logs/ only: a walk of their data directories races with topic deletions
        return sorted(
            p
            for p in home.glob("agents/*/nodes/*/logs/server.log")
            if re.search(r"-b\d+$", p.parent.parent.name)
        )

    return Target(
        name,
        brokers["BootstrapBrokerString"],
        brokers["BootstrapBrokerStringTls"],
        ca_file,
        stop=steward.cleanup,
        broker_logs=logs,
        broker_pids=steward.broker_pids,
    )


# --- measurements -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    values: tuple[float, ...]
    """MB/s for throughputs, (p50, p99, p99.9) ms for latencies."""
    load: float
    """The 1-minute load average when it ended."""


def run_tool(main: str, arguments: Sequence[str], timeout: float) -> str:
    """One of Kafka's tools as its own JVM, ended with its process group on a timeout."""
    classpath = require_distribution(VERSION).classpath
    command = [find_java(), *TOOL_JVM, "-cp", classpath, main, *arguments]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise RuntimeError(f"{main} did not finish in {timeout:.0f} s") from None
    if process.returncode != 0:
        raise RuntimeError(f"{main} failed ({process.returncode}): {err[-2000:]}{out[-1000:]}")
    return out


@dataclass(frozen=True)
class Workload:
    name: str
    unit: str
    run: Callable[[Target, str, Path, int, int], tuple[float, ...]]
    """(target, transport, client config, records, latency records) -> figures"""


def _topic(target: Target, transport: str, label: str) -> str:
    topic = f"dp-{transport}-{label}-{uuid.uuid4().hex[:6]}"
    create_topic(target.plaintext, topic, partitions=PARTITIONS, replication_factor=3, timeout=60)
    return topic


def produce(acks: str, tuned: bool) -> Callable[[Target, str, Path, int, int], tuple[float, ...]]:
    def run(target: Target, transport: str, config: Path, records: int, _: int) -> tuple[float]:
        label = f"a{acks}{'t' if tuned else 'd'}"
        topic = _topic(target, transport, label)
        arguments = [
            "--bootstrap-server", target.bootstrap(transport),
            "--topic", topic,
            "--num-records", str(records),
            "--record-size", str(RECORD_BYTES),
            "--throughput", "-1",
            "--command-config", str(config),
            "--producer-props", f"acks={acks}", *(TUNED if tuned else ()),
        ]  # fmt: skip
        output = run_tool("org.apache.kafka.tools.ProducerPerformance", arguments, 900)
        found = _PRODUCED.findall(output)
        if not found:
            raise RuntimeError(f"no summary from ProducerPerformance: {output[-1000:]}")
        if acks == "all" and tuned:
            _last_topic[(target.name, transport)] = topic
        return (float(found[-1]),)

    return run


_last_topic: dict[tuple[str, str], str] = {}
"""The topic the tuned acks=all producer last wrote on each side and transport: what the consumer
reads back."""


def consume(target: Target, transport: str, config: Path, records: int, _: int) -> tuple[float]:
    topic = _last_topic.get((target.name, transport))
    if topic is None:  # the producer workloads were left out: write what to read first
        produce("all", True)(target, transport, config, records, 0)
        topic = _last_topic[(target.name, transport)]
    arguments = [
        "--bootstrap-server", target.bootstrap(transport),
        "--topic", topic,
        "--num-records", str(records),
        "--group", f"dp-{uuid.uuid4().hex[:8]}",
        "--timeout", "120000",
        "--command-config", str(config),
    ]  # fmt: skip
    output = run_tool("org.apache.kafka.tools.ConsumerPerformance", arguments, 900)
    lines = [line for line in output.splitlines() if line.strip()]
    header = [h.strip() for h in lines[-2].split(",")]
    values = [v.strip() for v in lines[-1].split(",")]
    return (float(values[header.index("MB.sec")]),)


def latency(
    target: Target, transport: str, config: Path, _: int, records: int
) -> tuple[float, ...]:
    topic = _topic(target, transport, "e2e")
    arguments = [
        "--bootstrap-server", target.bootstrap(transport),
        "--topic", topic,
        "--num-records", str(records),
        "--producer-acks", "all",
        "--record-size", str(RECORD_BYTES),
        "--command-config", str(config),
    ]  # fmt: skip
    output = run_tool("org.apache.kafka.tools.EndToEndLatency", arguments, 900)
    found = _PERCENTILES.search(output)
    if found is None:
        raise RuntimeError(f"no percentiles from EndToEndLatency: {output[-1000:]}")
    return tuple(float(v) for v in found.groups())


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("produce-acks-all", "MB/s", produce("all", False)),
        Workload("produce-acks-all-tuned", "MB/s", produce("all", True)),
        Workload("produce-acks-1", "MB/s", produce("1", False)),
        Workload("produce-acks-1-tuned", "MB/s", produce("1", True)),
        Workload("consume", "MB/s", consume),
        Workload("e2e", "ms p50/p99/p99.9", latency),
    )
}


def drop_topics(target: Target) -> None:
    """Delete the benchmark's topics, so that rounds do not pile up data on the disk."""
    admin = AdminClient({"bootstrap.servers": target.plaintext})
    topics = [t for t in admin.list_topics(timeout=30).topics if t.startswith("dp-")]
    if topics:
        for future in admin.delete_topics(topics, operation_timeout=60).values():
            try:
                future.result(90)
            except Exception as error:  # measured already; the next round uses new names
                print(f"  ({target.name}: could not delete a topic: {error})", flush=True)


# --- configuration differences ----------------------------------------------------------------


def effective_config(server_log: Path) -> dict[str, str]:
    """The first `KafkaConfig values:` block a broker printed at start."""
    values: dict[str, str] = {}
    inside = False
    for line in server_log.read_text(errors="replace").splitlines():
        if "KafkaConfig values:" in line:
            if values:
                break
            inside = True
            continue
        if inside:
            if not line.startswith("\t"):
                if values:
                    break
                continue
            key, _, value = line.strip().partition(" = ")
            values[key] = value
    return values


_NODE_SPECIFIC = re.compile(
    r"^(node\.id|broker\.id|listeners|advertised\.listeners|log\.dirs?|metadata\.log\.dir|"
    r"controller\.quorum\.voters|broker\.rack|.*ssl\.(key|trust)store\.location)$"
)


def config_differences(hand: Path, managed: Path) -> list[tuple[str, str, str]]:
    """(key, by hand, Steward) for every setting whose value differs beyond the node's identity,
    addresses and file locations."""
    a, b = effective_config(hand), effective_config(managed)
    return [
        (key, a.get(key, "(absent)"), b.get(key, "(absent)"))
        for key in sorted(set(a) | set(b))
        if not _NODE_SPECIFIC.match(key) and a.get(key) != b.get(key)
    ]


def jvm_options(pid: int) -> list[str]:
    """The JVM options of process `pid`, without paths that differ between hosts of nodes."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []
    options = args[1 : args.index("-cp")] if "-cp" in args else args[1:]
    return [re.sub(r"=/\S+", "=<path>", option) for option in options]


def print_differences(hand: Target, managed: Target) -> None:
    hand_logs, managed_logs = hand.broker_logs(), managed.broker_logs()
    if hand_logs and managed_logs:
        differences = config_differences(hand_logs[0], managed_logs[0])
        print(f"\nEffective broker configuration, by hand vs {managed.name} (server.log):")
        if not differences:
            print("  no differences beyond identity, addresses and file locations")
        for key, a, b in differences:
            print(f"  {key}: by hand {a!r}, {managed.name} {b!r}")
    hand_pids, managed_pids = hand.broker_pids(), managed.broker_pids()
    if hand_pids and managed_pids:
        a, b = jvm_options(hand_pids[0]), jvm_options(managed_pids[0])
        print(f"JVM options, by hand vs {managed.name} (a broker's command line):")
        only_a, only_b = [o for o in a if o not in b], [o for o in b if o not in a]
        print(f"  only by hand: {only_a or 'none'}")
        print(f"  only {managed.name}: {only_b or 'none'}")


# --- the run ----------------------------------------------------------------------------------


def figure(values: Sequence[float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--warmup-rounds",
        type=int,
        default=1,
        help="rounds run first and left out of the medians (JIT and page cache of 9+ JVMs)",
    )
    parser.add_argument("--records", type=int, default=500_000, help="per producer run")
    parser.add_argument("--latency-records", type=int, default=10_000)
    parser.add_argument("--sides", default="hand,steward,steward-at-rest")
    parser.add_argument("--transports", default="plaintext,tls")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument(
        "--steward-cgroups",
        choices=("on", "off"),
        default="on",
        help="off: Steward's nodes run without CPU weights, to see what the weights cost",
    )
    args = parser.parse_args()
    sides = args.sides.split(",")
    transports = args.transports.split(",")
    workloads = [WORKLOADS[name] for name in args.workloads.split(",")]
    if "steward-at-rest" in sides and not encryption_supported():
        print("no gocryptfs/FUSE on this host: leaving out the encrypted side")
        sides.remove("steward-at-rest")
    cgroups = args.steward_cgroups == "on"
    require_distribution(VERSION)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"commit {commit}, {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.2f}, "
        f"Steward's CPU weights {args.steward_cgroups}"
    )
    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="steward-bench-dataplane-") as tmp:
        work = Path(tmp)
        try:
            starters = {
                "hand": lambda: start_by_hand(work / "by-hand"),
                "hand-again": lambda: start_by_hand(work / "by-hand-again", "by hand again"),
                "steward": lambda: start_steward("Steward", work, "off", cgroups),
                "steward-at-rest": lambda: start_steward("Steward at rest", work, "on", cgroups),
            }
            for side in sides:
                started = time.monotonic()
                targets.append(starters[side]())
                print(
                    f"{targets[-1].name}: serving in {time.monotonic() - started:.1f} s", flush=True
                )
            for round_number in range(1 - args.warmup_rounds, args.rounds + 1):
                warmup = round_number < 1
                order = targets if round_number % 2 else list(reversed(targets))
                for transport in transports:
                    for workload in workloads:
                        for target in order:
                            config = target.client_config(transport, work)
                            values = workload.run(
                                target, transport, config, args.records, args.latency_records
                            )
                            load = os.getloadavg()[0]
                            key = (transport, workload.name)
                            if not warmup:
                                measured = Measurement(values, load)
                                target.results.setdefault(key, []).append(measured)
                            label = "warm-up" if warmup else f"round {round_number}"
                            print(
                                f"{label} {transport:9} {workload.name:24} "
                                f"{target.name:16} {figure(values):>22} {workload.unit}"
                                f"  (load {load:.2f})",
                                flush=True,
                            )
                    for target in order:
                        drop_topics(target)
                    _last_topic.clear()
            hand = next((t for t in targets if t.name == "by hand"), None)
            if hand is not None:
                for managed in targets:
                    if managed is not hand:
                        try:
                            print_differences(hand, managed)
                        except OSError as error:  # the figures above are what matters
                            print(f"differences with {managed.name} not read: {error}")
        finally:
            for target in targets:
                target.stop()
    report(targets, transports, workloads, args)


def report(
    targets: list[Target],
    transports: list[str],
    workloads: list[Workload],
    args: argparse.Namespace,
) -> None:
    print(
        f"\n{args.rounds} round(s) after {args.warmup_rounds} warm-up, "
        f"{args.records} records of {RECORD_BYTES} B per producer run, "
        f"{args.latency_records} for latency; medians (load average at each figure: min-max); "
        "for throughputs, each round's ratio in brackets"
    )
    hand = next((t for t in targets if t.name == "by hand"), None)
    header = "| transport | workload | " + " | ".join(t.name for t in targets)
    ratios = [t for t in targets if hand is not None and t is not hand]
    header += "".join(f" | {t.name} / by hand" for t in ratios) + " |"
    print(header)
    print("|" + "---|" * (2 + len(targets) + len(ratios)))
    for transport in transports:
        for workload in workloads:
            cells, medians, rounds = [], {}, {}
            for target in targets:
                runs = target.results.get((transport, workload.name), [])
                if not runs:
                    cells.append("-")
                    continue
                value = tuple(
                    statistics.median(m.values[i] for m in runs) for i in range(len(runs[0].values))
                )
                loads = [m.load for m in runs]
                medians[target.name] = value
                rounds[target.name] = [m.values[0] for m in runs]
                cells.append(f"{figure(value)} (load {min(loads):.1f}-{max(loads):.1f})")
            row = f"| {transport} | {workload.name} ({workload.unit}) | " + " | ".join(cells)
            for target in ratios:
                a, b = medians.get("by hand"), medians.get(target.name)
                if a is None or b is None:
                    row += " | -"
                elif workload.name == "e2e":  # lower is better: by hand / Steward
                    row += " | " + "/".join(f"{x / y:.2f}x" for x, y in zip(a, b, strict=True))
                else:
                    paired = zip(rounds["by hand"], rounds[target.name], strict=False)
                    each = " ".join(f"{y / x:.2f}" for x, y in paired)
                    row += f" | {b[0] / a[0]:.2f}x ({each})"
            print(row + " |")


if __name__ == "__main__":
    main()
