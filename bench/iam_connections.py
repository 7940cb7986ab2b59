"""New connections per second one broker accepts with IAM sign-in against SASL/SCRAM, side by
side on the same broker, and what a new connection of each costs the broker in CPU (MSK caps IAM
at 100 new connections per second per broker).

A Steward serves a one-broker cluster with both IAM (9098) and SASL/SCRAM (9096) on, TLS to
clients. One access key signs in with IAM, both ways: SASL `AWS_MSK_IAM` (kafka-python's own
implementation, credentials from the environment as botocore finds them) and SASL/OAUTHBEARER (a
token from Amazon's aws-msk-iam-sasl-signer-python per connection); one SCRAM-SHA-512 user with
its password. All three through kafka-python, so the client's own cost is alike (confluent-kafka
waits a second for an `oauth_cb` token in every new client, which would measure librdkafka, not
the broker).

For `--seconds` per round, `--clients` worker processes each open a new client (TLS handshake,
sign-in, metadata) and close it, again and again, and count the clients that signed in and those
that failed. Processes, not threads: kafka-python clients in threads of one process share its
GIL. Each worker signs in once before the round starts (its imports and first TLS context are
not counted). Rounds alternate between the mechanisms (`--rounds` of each), after a `--warmup`
round of each that is left out (the broker's JIT compiles the sign-in code then).

Kafka's SASL server looks up the name of the broker's own address (a reverse DNS query) for
every new SASL connection, on the listener's network thread. No DNS server knows Steward's
addresses (127.100.x.y); a resolver that drops some of those queries (this machine's drops about
one in fifty, and the JVM then waits 5 s) holds every connection of that network thread
meanwhile, and the figure measured the resolver. Steward's brokers now resolve names from a
hosts file of their own (`steward.kafka.name_resolution`), where that lookup fails at once, as
it does with a resolver that answers; `--system-resolver` gives them the host's resolver
(STEWARD_NODE_NAME_RESOLUTION=system) to see what it costs.

The rate still depends on the machine, since the clients take cores the broker could use. What
does not is the broker's own work: its JVM's CPU time (utime + stime of /proc/<pid>/stat) over
each round, less what it spends when idle (measured for `--idle` seconds after the warm-up and
again after the rounds; their mean), divided by the connections made. The table gives that as
broker CPU ms per new connection, and 1000 / that: the new connections per second one broker
core could accept. The clients' CPU ms per connection (all worker processes together) is beside
it, to tell which side binds the rate.

    python bench/iam_connections.py [--seconds 20] [--clients 4] [--rounds 2] [--warmup 5]
                                    [--idle 10] [--system-resolver]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import multiprocessing
import os
import queue
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import kafka.errors
from kafka import KafkaAdminClient
from kafka.net.sasl.oauth import AbstractTokenProvider

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from steward.kafka.name_resolution import NAME_RESOLUTION_ENV  # noqa: E402
from tests.iam_signing import oauth_token  # noqa: E402
from tests.integration.harness import REGION, Steward, provisioned  # noqa: E402

logging.getLogger("kafka").setLevel(logging.CRITICAL)
SCRAM_USER, SCRAM_PASSWORD = "bench-scram", "bench-password-5c1e"
TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 180.0
"""Seconds the worker processes may take to start and sign in once (on a busy machine)."""


def wait_for(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(1.0)
    raise RuntimeError(f"{what}: not within {timeout} s")


class SignerTokens(AbstractTokenProvider):  # type: ignore[misc]
    def __init__(self, key_id: str, secret: str) -> None:
        self.key_id, self.secret = key_id, secret

    def token(self) -> str:
        return oauth_token(REGION, self.key_id, self.secret)[0]


@dataclass(frozen=True)
class Mechanism:
    """One way to sign in, as plain data a worker process is handed: it builds the TLS context
    and the token provider (neither pickles) itself."""

    name: str
    options: dict[str, Any]
    ca_pem: str
    signer_key: tuple[str, str] | None = field(default=None, repr=False)
    """The access key OAUTHBEARER tokens are signed with; None for the other mechanisms."""

    def settings(self) -> dict[str, Any]:
        settings = {
            **self.options,
            "security_protocol": "SASL_SSL",
            "ssl_context": ssl.create_default_context(cadata=self.ca_pem),
        }
        if self.signer_key is not None:
            settings["sasl_oauth_token_provider"] = SignerTokens(*self.signer_key)
        return settings


def setup(steward: Steward) -> list[Mechanism]:
    """The cluster, and the three ways to sign in to it."""
    spec = provisioned(
        brokers=1,
        zones=("az-a",),
        EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}},
        ClientAuthentication={
            "Sasl": {"Iam": {"Enabled": True}, "Scram": {"Enabled": True}},
            "Unauthenticated": {"Enabled": False},
        },
    )
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.m5.large"
    kafka = steward.client()
    arn = kafka.create_cluster_v2(ClusterName="iam-bench", Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=600)
    if info["State"] != "ACTIVE":
        raise RuntimeError(f"cluster {info['State']}: {info.get('StateInfo')}")
    brokers = kafka.get_bootstrap_brokers(ClusterArn=arn)
    with steward.http() as http:
        ca = http.get(f"/steward/v1/clusters/{quote(arn, safe='')}/ca-certificate").json()
    key_id, secret = steward.credentials()
    secrets = boto3.client(
        "secretsmanager",
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )
    secret_arn = secrets.create_secret(
        Name=f"AmazonMSK_{SCRAM_USER}",
        SecretString=json.dumps({"username": SCRAM_USER, "password": SCRAM_PASSWORD}),
    )["ARN"]
    kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=[secret_arn])

    # AWS_MSK_IAM finds its key as botocore does; the worker processes inherit the environment
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": REGION}
    )
    pem = ca["certificatePem"]
    iam = brokers["BootstrapBrokerStringSaslIam"].split(",")
    scram = brokers["BootstrapBrokerStringSaslScram"].split(",")
    mechanisms = [
        Mechanism(
            "IAM (AWS_MSK_IAM)",
            {"bootstrap_servers": iam, "sasl_mechanism": "AWS_MSK_IAM"},
            pem,
        ),
        Mechanism(
            "IAM (OAUTHBEARER)",
            {"bootstrap_servers": iam, "sasl_mechanism": "OAUTHBEARER"},
            pem,
            signer_key=(key_id, secret),
        ),
        Mechanism(
            "SCRAM-SHA-512",
            {
                "bootstrap_servers": scram,
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_plain_username": SCRAM_USER,
                "sasl_plain_password": SCRAM_PASSWORD,
            },
            pem,
        ),
    ]
    for mechanism in mechanisms:
        settings = mechanism.settings()
        wait_for(lambda settings=settings: signs_in(settings), f"{mechanism.name} sign-in")
    return mechanisms


def signs_in(settings: dict[str, Any]) -> bool:
    """One new client: sign in, fetch metadata (the signed-in session answers it), close. One
    connection: kafka-python closes its bootstrap connection once it has the metadata."""
    try:
        admin = KafkaAdminClient(request_timeout_ms=10000, bootstrap_timeout_ms=10000, **settings)
    except kafka.errors.KafkaError:
        return False
    admin.close()
    return True


# --- the broker's CPU time ------------------------------------------------------------------


def broker_pid(steward: Steward) -> int:
    """The one broker's JVM (the cluster's controller runs in a JVM of its own)."""
    found = steward.broker_pids()
    if len(found) != 1:
        raise RuntimeError(f"expected one broker JVM under {steward.home}, found {found}")
    return found[0]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of the process `pid`, all its threads, so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


# --- rounds ---------------------------------------------------------------------------------


def worker(
    mechanism: Mechanism, seconds: float, go: Event, results: Queue[tuple[str, Any]]
) -> None:
    """One client process: sign in once, say so, wait for `go`, then open and close new
    clients for `seconds`; put (signed in, failed, CPU seconds of the loop)."""
    settings = mechanism.settings()
    ready = signs_in(settings)
    results.put(("ready", ready))
    if not ready or not go.wait(START_TIMEOUT):
        return
    done = failed = 0
    cpu = time.process_time()
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        if signs_in(settings):
            done += 1
        else:
            failed += 1
    results.put(("done", (done, failed, time.process_time() - cpu)))


@dataclass(frozen=True)
class Round:
    connections: int
    failed: int
    wall: float
    broker_cpu: float
    """Broker CPU seconds over the round (less its idle rate over the same time once
    `less_idle` has been applied)."""
    client_cpu: float
    """CPU seconds of all worker processes over their loops."""

    def less_idle(self, idle_rate: float) -> Round:
        """The round with what the broker spends idle over its time taken off."""
        return dataclasses.replace(self, broker_cpu=self.broker_cpu - idle_rate * self.wall)

    @property
    def rate(self) -> float:
        return self.connections / self.wall

    @property
    def broker_ms(self) -> float:
        return 1000 * self.broker_cpu / self.connections if self.connections else float("nan")

    @property
    def client_ms(self) -> float:
        return 1000 * self.client_cpu / self.connections if self.connections else float("nan")


def round_of(mechanism: Mechanism, seconds: float, clients: int, broker: int) -> Round:
    """`clients` worker processes opening new clients of `mechanism` for `seconds`."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    go = context.Event()
    results: Queue[tuple[str, Any]] = context.Queue()
    processes = [
        context.Process(target=worker, args=(mechanism, seconds, go, results), daemon=True)
        for _ in range(clients)
    ]
    try:
        for process in processes:
            process.start()
        for _ in processes:
            kind, ready = next_result(results, START_TIMEOUT, mechanism)
            if kind != "ready" or not ready:
                raise RuntimeError(f"{mechanism.name}: a worker could not sign in")
        cpu, started = cpu_seconds(broker), time.monotonic()
        go.set()
        done = failed = 0
        client_cpu = 0.0
        for _ in processes:
            _, (count, failures, cpu_used) = next_result(
                results, seconds + START_TIMEOUT, mechanism
            )
            done, failed, client_cpu = done + count, failed + failures, client_cpu + cpu_used
        wall = time.monotonic() - started
        broker_cpu = cpu_seconds(broker) - cpu
        for process in processes:
            process.join(timeout=30)
        return Round(done, failed, wall, broker_cpu, client_cpu)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join(timeout=10)
        results.close()
        results.join_thread()


def next_result(
    results: Queue[tuple[str, Any]], timeout: float, mechanism: Mechanism
) -> tuple[str, Any]:
    try:
        return results.get(timeout=timeout)
    except queue.Empty:
        raise RuntimeError(f"{mechanism.name}: a worker said nothing for {timeout:.0f} s") from None


def idle_cpu_rate(broker: int, seconds: float) -> float:
    """The broker's CPU seconds per second with no clients."""
    cpu, started = cpu_seconds(broker), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(broker) - cpu) / (time.monotonic() - started)


def report(
    rounds: dict[str, list[Round]],
    args: argparse.Namespace,
    idle: list[float],
    loads: list[float],
) -> None:
    resolver = "the host's resolver" if args.system_resolver else "a hosts file"
    print(
        f"\nNew connections per second, one broker ({resolver}), {args.clients} client "
        f"processes, {args.rounds} x {args.seconds:.0f} s rounds each (kafka-python), "
        f"{os.cpu_count()} cores, load average {loads[0]:.1f} at the start, {loads[1]:.1f} at "
        f"the end; broker idle {1000 * idle[0]:.0f} and {1000 * idle[1]:.0f} CPU ms/s "
        "(their mean subtracted)"
    )
    scram = statistics.median(r.rate for r in rounds["SCRAM-SHA-512"])
    print(
        f"{'mechanism':<20}{'median/s':>10}{'best/s':>9}{'failed':>8}{'/ SCRAM':>9}"
        f"{'broker ms':>11}{'ceiling/core':>14}{'client ms':>11}"
    )
    for name, each in rounds.items():
        median = statistics.median(r.rate for r in each)
        broker_ms = statistics.median(r.broker_ms for r in each)
        client_ms = statistics.median(r.client_ms for r in each)
        ratio = f"{median / scram:.2f}" if scram else "-"
        ceiling = f"{1000 / broker_ms:.0f}/s" if broker_ms > 0 else "-"
        print(
            f"{name:<20}{median:>10.1f}{max(r.rate for r in each):>9.1f}"
            f"{sum(r.failed for r in each):>8}{ratio:>9}{broker_ms:>11.2f}{ceiling:>14}"
            f"{client_ms:>11.1f}"
        )
    print(
        "broker ms / client ms: CPU per new connection that signed in (median of the rounds); "
        "ceiling/core: 1000 / broker ms"
    )


def broker_environment(system_resolver: bool) -> dict[str, str]:
    """The Steward's settings for its nodes: with `system_resolver`, its brokers resolve names as
    the host does instead of from their hosts files (see the module's docstring)."""
    return {NAME_RESOLUTION_ENV: "system"} if system_resolver else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=4, help="worker processes")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds, left out")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle broker")
    parser.add_argument(
        "--system-resolver",
        action="store_true",
        help="the broker resolves names as the host does (reverse DNS of its address)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="steward-iam-bench-") as home:
        extra_env = broker_environment(args.system_resolver)
        steward = Steward(Path(home), extra_env=extra_env)
        steward.start()
        try:
            mechanisms = setup(steward)
            broker = broker_pid(steward)
            loads = [os.getloadavg()[0]]
            if args.warmup > 0:
                for mechanism in mechanisms:
                    round_of(mechanism, args.warmup, args.clients, broker)
            idle = [idle_cpu_rate(broker, args.idle)]
            rounds: dict[str, list[Round]] = {m.name: [] for m in mechanisms}
            for _ in range(args.rounds):
                for mechanism in mechanisms:
                    each = round_of(mechanism, args.seconds, args.clients, broker)
                    rounds[mechanism.name].append(each)
                    print(
                        f"{mechanism.name}: {each.rate:.1f}/s, {each.failed} failed, "
                        f"broker {1000 * each.broker_cpu / each.wall:.0f} CPU ms/s, clients "
                        f"{each.client_ms:.1f} ms per connection (load {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
            idle.append(idle_cpu_rate(broker, args.idle))
            loads.append(os.getloadavg()[0])
            net = {
                name: [each.less_idle(statistics.mean(idle)) for each in measured]
                for name, measured in rounds.items()
            }
            report(net, args, idle, loads)
        finally:
            steward.cleanup()  # every process it started


if __name__ == "__main__":
    main()
