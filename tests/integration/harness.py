"""A real Steward for integration tests: its own home, API port and loopback range, and a teardown
that ends every process it started (control plane, agents, Kafka) by PID.

`Steward(home, zone_network="netns")` runs its zones in network namespaces instead (see
steward.network.zones), on 10.<octet>.<zone>.<host>; its cleanup then also removes that network."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, TypeVar

import boto3
import httpx
from botocore.credentials import Credentials

from steward.agent.cgroups import CpuGroups
from steward.agent.memory_groups import MemoryGroups
from steward.agent.volumes import loop_volumes_supported, release_volumes_under
from steward.api.auth.keys import new_access_key_id, new_secret_access_key
from steward.client.credentials_file import credentials_path, read_credentials
from steward.client.signing import SigV4HttpxAuth
from steward.kafka.properties import parse_properties
from steward.network.zones import ZoneNetwork, remove_octet
from steward.settings import ENCRYPTION_AT_REST_ENV, encryption_supported

AGENT_PORT = 9781
"""Where every agent of a test Steward listens (Steward's default), on 127.<octet>.<zone>.254."""

_claimed: list[IO[str]] = []
"""Lock files of the octets this process uses, held open until it exits."""


def _addresses_free(octet: int, port: int = AGENT_PORT) -> bool:
    for zone in (1, 2, 3):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((f"127.{octet}.{zone}.254", port))
            except OSError:
                return False
    return True


def next_octet() -> int:
    """A second octet (127.<octet>.<zone>.<host>) that no other Steward on this machine uses:
    claimed with a lock file held for the life of this process, so that test runs, xdist workers
    and benchmarks running at the same time never share an address."""
    lock_dir = Path(tempfile.gettempdir()) / "steward-test-octets"
    lock_dir.mkdir(exist_ok=True)
    for octet in range(100, 250):
        handle = (lock_dir / f"{octet}.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        if not _addresses_free(octet):
            handle.close()
            continue
        _claimed.append(handle)
        return octet
    raise RuntimeError("no free loopback range left for a test Steward")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pids_mentioning(text: str) -> list[int]:
    """Processes whose command line contains `text` (our temporary home path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def kill_all(pids: Iterable[int], sig: int = signal.SIGKILL, timeout: float = 15.0) -> None:
    pids = list(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.time() + timeout
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)


ZONES = ("az-a", "az-b", "az-c")
"""The zones of a test Steward (Steward's default)."""
REGION = "us-east-1"
AWS_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
SEED_VARIABLES = ("STEWARD_ACCESS_KEY_ID", "STEWARD_SECRET_ACCESS_KEY")


class Steward:
    def __init__(
        self,
        home: Path,
        zone_network: str | None = None,
        extra_env: dict[str, str] | None = None,
        seed_access_key: bool = True,
    ) -> None:
        """`zone_network` sets STEWARD_ZONE_NETWORK ("loopback", "netns", "auto") for the
        Steward; None leaves it to the environment. `extra_env` adds settings of its own.
        The Steward gets a new access key through STEWARD_ACCESS_KEY_ID /
        STEWARD_SECRET_ACCESS_KEY, which `client()`, `http()` and the commands run with `env`
        (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) sign with; without `seed_access_key` it
        makes one itself at its first start, into its credentials file."""
        self.home = home
        self.access_key: tuple[str, str] | None = (
            (new_access_key_id(), new_secret_access_key()) if seed_access_key else None
        )
        self.zone_network = zone_network
        self.extra_env = dict(extra_env or {})
        self.octet = next_octet()
        self.api_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.endpoint = f"http://127.0.0.1:{self.api_port}"
        self.log_file = home / "server.out"
        """What the control plane prints; one of its own for each server sharing the home."""

    @property
    def env(self) -> dict[str, str]:
        """The environment of the Steward and of the commands (steward, aws) run against it."""
        inherited = {
            k: v
            for k, v in os.environ.items()
            if k not in AWS_CREDENTIAL_VARIABLES + SEED_VARIABLES
        }
        keys: dict[str, str] = {}
        if self.access_key is not None:
            access_key_id, secret = self.access_key
            keys = {
                "STEWARD_ACCESS_KEY_ID": access_key_id,
                "STEWARD_SECRET_ACCESS_KEY": secret,
                "AWS_ACCESS_KEY_ID": access_key_id,
                "AWS_SECRET_ACCESS_KEY": secret,
            }
        return {
            **inherited,
            "STEWARD_HOME": str(self.home),
            "STEWARD_API_PORT": str(self.api_port),
            "STEWARD_ADDRESS_OCTET": str(self.octet),
            "STEWARD_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            **keys,
            **({"STEWARD_ZONE_NETWORK": self.zone_network} if self.zone_network else {}),
            # Encryption at rest costs every broker a FUSE daemon: the modules that are about it
            # ask for it (extra_env), the others keep the suite's time.
            ENCRYPTION_AT_REST_ENV: "off",
            **self.extra_env,
        }

    @property
    def server_env(self) -> dict[str, str]:
        """`env` without the AWS_* credentials, which only clients need."""
        return {k: v for k, v in self.env.items() if k not in AWS_CREDENTIAL_VARIABLES}

    def network(self) -> ZoneNetwork:
        """The zones' network in netns mode (to cut and restore zones)."""
        return ZoneNetwork(self.octet, ZONES)

    def start(self, timeout: float = 120.0) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "steward.server"],
            env=self.server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                failure = f"steward exited: {self.log_tail()}"
                break
            try:
                if httpx.get(f"{self.endpoint}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            failure = f"steward did not answer within {timeout} s: {self.log_tail()}"
        # A fixture whose start fails never reaches its cleanup: end what this start began.
        self.cleanup()
        raise RuntimeError(failure)

    def log_tail(self, lines: int = 40) -> str:
        path = self.log_file
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self) -> None:
        """kill -9 the control plane only (agents and Kafka keep running)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(30)  # what is still there, cleanup ends by pid

    def cleanup(self) -> None:
        """End the control plane, its agents and every Kafka process under this home, and
        remove the CPU groups the agents made for those processes (now empty) and the memory
        groups of its functions' workers, and the zones'
        network namespaces, veths and bridge when it may have had them, and the brokers'
        volumes and encrypted views, unmounted."""
        try:
            self.stop()
        finally:
            kill_all(pids_mentioning(str(self.home)))
        if loop_volumes_supported() or encryption_supported():
            release_volumes_under(self.home)
        CpuGroups.for_host().remove_empty_groups()
        MemoryGroups.for_host().remove_empty_groups()
        if self.zone_network not in (None, "loopback"):
            remove_octet(self.octet)

    def kafka_pids(self) -> list[int]:
        return [p for p in pids_mentioning(str(self.home)) if _is_kafka(p)]

    def broker_pids(self) -> list[int]:
        """The Kafka JVMs of this home whose `process.roles` is `broker`."""
        return [p for p in self.kafka_pids() if _process_roles(p) == "broker"]

    def credentials(self) -> tuple[str, str]:
        """The access key clients sign with: the seeded one, else the one the Steward made at
        its first start."""
        if self.access_key is not None:
            return self.access_key
        made = read_credentials(credentials_path(self.home))
        if made is None:
            raise RuntimeError(f"{self.home} has no credentials file (not started yet?)")
        return made

    def client(self) -> Any:
        access_key_id, secret = self.credentials()
        return boto3.client(
            "kafka",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret,
        )

    def http(self) -> httpx.Client:
        """An HTTP client for Steward's own routes (`/steward/v1/...`), signing as `client()`."""
        auth = SigV4HttpxAuth(Credentials(*self.credentials()), REGION)
        return httpx.Client(base_url=self.endpoint, auth=auth, timeout=30.0)

    def wait_for_state(self, arn: str, states: set[str], timeout: float = 120.0) -> dict[str, Any]:
        client = self.client()
        deadline = time.time() + timeout
        info: dict[str, Any] = {}
        while time.time() < deadline:
            info = client.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
            if info["State"] in states:
                return info
            time.sleep(0.3)
        raise AssertionError(f"cluster stayed {info.get('State')}, wanted {states}")

    def current_version(self, arn: str) -> str:
        """The cluster's CurrentVersion, which every update request must name."""
        return str(
            self.client().describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["CurrentVersion"]
        )

    def wait_for_operation(self, operation_arn: str, timeout: float = 600.0) -> dict[str, Any]:
        """The operation (DescribeClusterOperation's ClusterOperationInfo) once it has ended."""
        client = self.client()
        deadline = time.time() + timeout
        while time.time() < deadline:
            info = client.describe_cluster_operation(ClusterOperationArn=operation_arn)[
                "ClusterOperationInfo"
            ]
            if info["OperationState"] in ("UPDATE_COMPLETE", "UPDATE_FAILED"):
                return dict(info)
            time.sleep(0.5)
        raise AssertionError(f"operation {operation_arn} did not end within {timeout} s")

    def wait_until_gone(self, arn: str, timeout: float = 60.0) -> None:
        client = self.client()
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                client.describe_cluster_v2(ClusterArn=arn)
            except client.exceptions.NotFoundException:
                return
            time.sleep(0.3)
        raise AssertionError("cluster was not deleted in time")


T = TypeVar("T")


def eventually(
    check: Callable[[], T], what: str, timeout: float = 120.0, interval: float = 0.5
) -> T:
    """What `check` returns once it is truthy; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


def _process_roles(pid: int) -> str | None:
    """`process.roles` of the Kafka JVM `pid`, from the properties file its command line names
    after the main class."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        properties = parse_properties(Path(args[args.index("kafka.Kafka") + 1]).read_text())
    except (OSError, ValueError, IndexError):
        return None
    return properties.get("process.roles")


def _is_kafka(pid: int) -> bool:
    try:
        return b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def provisioned(
    brokers: int = 3,
    zones: tuple[str, ...] = ("az-a", "az-b", "az-c"),
    **extra: Any,
) -> dict[str, Any]:
    """The `Provisioned` argument of create_cluster_v2 as a boto3 user writes it.

    Plaintext between clients and brokers and inside the cluster unless `EncryptionInfo` says
    otherwise: MSK's default (and Steward's) is TLS only, but most tests connect plainly."""
    encryption = {"EncryptionInTransit": PLAINTEXT_IN_TRANSIT, **extra.pop("EncryptionInfo", {})}
    return {
        "KafkaVersion": "4.3.1",
        "NumberOfBrokerNodes": brokers,
        "BrokerNodeGroupInfo": {
            "InstanceType": "kafka.m5.large",
            "ClientSubnets": list(zones),
            "StorageInfo": {"EbsStorageInfo": {"VolumeSize": 10}},
        },
        "EncryptionInfo": encryption,
        **extra,
    }


def signed_in_cluster(steward: Steward, name: str, sasl: dict[str, Any]) -> str:
    """A small cluster (one broker in one zone, kafka.t3.small) that takes TLS only and signs
    clients in with `sasl` (MSK's `ClientAuthentication.Sasl`), ACTIVE; its ARN."""
    spec = provisioned(
        brokers=1,
        zones=("az-a",),
        EncryptionInfo={"EncryptionInTransit": TLS_IN_TRANSIT},
        ClientAuthentication={"Sasl": sasl, "Unauthenticated": {"Enabled": False}},
    )
    spec["BrokerNodeGroupInfo"]["InstanceType"] = "kafka.t3.small"
    arn = steward.client().create_cluster_v2(ClusterName=name, Provisioned=spec)["ClusterArn"]
    info = steward.wait_for_state(arn, {"ACTIVE", "FAILED"}, timeout=400)
    assert info["State"] == "ACTIVE", info.get("StateInfo")
    return str(arn)


PLAINTEXT_IN_TRANSIT = {"ClientBroker": "PLAINTEXT", "InCluster": False}
TLS_IN_TRANSIT = {"ClientBroker": "TLS", "InCluster": True}
