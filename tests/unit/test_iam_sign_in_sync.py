"""How the keys that may sign in with IAM reach the brokers, without Kafka: the control plane's
sync sends every IAM broker's agent the whole file of derived signing keys (and nothing to other
clusters), a deleted key is gone from the next pass, and the agent writes the file privately and
only when it changed; the brokers' refusal lines come back as `SignInRefusal` records."""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from steward.agent.client import AgentError
from steward.agent.iam import (
    CREDENTIALS_FILE,
    REFUSALS_FILE,
    NotIamNode,
    read_refusals,
    write_credentials,
    write_iam_files,
)
from steward.agent.spec import NodeSpec
from steward.control.node_specs import node_key
from steward.control.service import ClusterService
from steward.domain.model import (
    ClientAuthentication,
    ClientBroker,
    Cluster,
    EncryptionInTransit,
    Node,
    NodeRole,
)
from steward.kafka.iam_signin import (
    CREDENTIALS_LOCATION,
    HOSTS,
    REFUSALS_LOCATION,
    credentials_document,
    iam_listener_settings,
    signing_key,
)
from steward.security.iam_signin import (
    IamCredentialSync,
    RefusalCollector,
    SignInRefusals,
)
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.clusters import active_cluster

ZONES = (Zone("az-a", "127.72.1"), Zone("az-b", "127.72.2"), Zone("az-c", "127.72.3"))
IAM = ClientAuthentication(unauthenticated=False, sasl_iam=True)
TLS = EncryptionInTransit(ClientBroker.TLS, in_cluster=True)


@pytest.fixture
def service(tmp_path: Path) -> ClusterService:
    settings = Settings(home=tmp_path, zones=ZONES)
    return ClusterService(settings, Store(settings.db_url))


@dataclass
class RecordingAgent:
    """Stands in for an agent's HTTP API: what it was sent, and the refusal lines it holds."""

    files: dict[str, str] = field(default_factory=dict)
    lines: dict[str, list[str]] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)

    def put_iam_credentials(self, key: str, text: str) -> bool:
        if key in self.missing:
            raise AgentError(404, f"no node {key!r} on this agent")
        changed = self.files.get(key) != text
        self.files[key] = text
        return changed

    def iam_refusals(self, key: str, offset: int = 0) -> tuple[list[str], int]:
        lines = self.lines.get(key, [])
        return lines[offset:], len(lines)


def sync_for(service: ClusterService, agent: RecordingAgent) -> IamCredentialSync:
    return IamCredentialSync(
        service.store,
        service.iam.signing_identities,
        lambda _agent: agent,
        node_key,
        "us-east-1",  # type: ignore[arg-type, return-value]
    )


def brokers(service: ClusterService, cluster: Cluster) -> list[Node]:
    return [n for n in service.store.nodes(cluster.arn) if n.role is NodeRole.BROKER]


def test_every_iam_broker_gets_the_keys_and_a_deleted_key_leaves(service: ClusterService) -> None:
    iam = active_cluster(service, "signed", client_authentication=IAM, encryption_in_transit=TLS)
    active_cluster(service, "plain")
    service.iam.create_user("alice")
    made = service.iam.create_access_key("alice")
    alice = made.key
    alice_secret = made.secret_access_key
    agent = RecordingAgent()
    sync = sync_for(service, agent)

    assert sync.pass_once() == 3
    assert set(agent.files) == {node_key(iam, b) for b in brokers(service, iam)}
    document = json.loads(next(iter(agent.files.values())))
    (key,) = document["keys"]
    assert key["accessKeyId"] == alice.access_key_id
    assert key["principalArn"] == "arn:aws:iam::000000000000:user/alice"
    assert alice_secret not in next(iter(agent.files.values()))
    today = datetime.now(UTC).strftime("%Y%m%d")
    assert key["signingKeys"][today] == signing_key(alice_secret, today, "us-east-1").hex()
    assert len(key["signingKeys"]) == 3  # yesterday, today, tomorrow

    assert sync.pass_once() == 0  # nothing changed: nothing rewritten
    service.store.access_keys.remove(alice.access_key_id)
    sync.sync_now()  # no background task: a pass here and now
    assert all(json.loads(text)["keys"] == [] for text in agent.files.values())


def test_a_broker_not_there_yet_is_left_for_the_next_pass(service: ClusterService) -> None:
    iam = active_cluster(service, "signed", client_authentication=IAM, encryption_in_transit=TLS)
    first, *others = brokers(service, iam)
    agent = RecordingAgent(missing={node_key(iam, first)})
    assert sync_for(service, agent).pass_once() == len(others)


def test_the_agent_writes_the_file_privately_and_only_when_it_changed(tmp_path: Path) -> None:
    spec = NodeSpec(
        key="c-b1",
        cluster_id="AAAAAAAAAAAAAAAAAAAAAA",
        role="broker",
        node_id=1,
        kafka_version="4.3.1",
        directory_id="AAAAAAAAAAAAAAAAAAAAAA",
        properties={
            "listeners": "CLIENT_SASL_IAM://127.0.9.1:9098,REPLICATION://127.0.9.1:9091",
            **iam_listener_settings(),
        },
    )
    directory = tmp_path / "iam"
    locations = write_iam_files(spec, directory)
    assert locations[CREDENTIALS_LOCATION] == str(directory / CREDENTIALS_FILE)
    assert locations[REFUSALS_LOCATION] == str(directory / REFUSALS_FILE)
    assert locations[HOSTS] == "127.0.9.1"
    assert json.loads((directory / CREDENTIALS_FILE).read_text())["keys"] == []  # none yet
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700

    text = json.dumps(credentials_document([], "us-east-1", datetime.now(UTC)))
    assert write_credentials(spec, directory, text)
    assert not write_credentials(spec, directory, text)
    assert stat.S_IMODE((directory / CREDENTIALS_FILE).stat().st_mode) == 0o600
    assert not list(directory.glob(".*.tmp"))

    plain = NodeSpec(
        key="p-b1",
        cluster_id="AAAAAAAAAAAAAAAAAAAAAA",
        role="broker",
        node_id=1,
        kafka_version="4.3.1",
        directory_id="AAAAAAAAAAAAAAAAAAAAAA",
        properties={},
    )
    assert write_iam_files(plain, tmp_path / "other") == {}
    with pytest.raises(NotIamNode):
        write_credentials(plain, tmp_path / "other", text)


def test_refusal_lines_are_read_from_an_offset_on(tmp_path: Path) -> None:
    line = {
        "time": "2026-12-06T21:00:00.123456789Z",
        "requestId": "r1",
        "mechanism": "OAUTHBEARER",
        "reason": "bad signature",
        "detail": "the signature does not match",
        "accessKeyId": "AKIA1",
    }
    (tmp_path / REFUSALS_FILE).write_text(json.dumps(line) + "\n" + '{"time": "partial')
    first = read_refusals(tmp_path)
    assert len(first["lines"]) == 1  # the line being written waits for the next read
    assert read_refusals(tmp_path, first["offset"])["lines"] == []
    assert len(read_refusals(tmp_path, 10**9)["lines"]) == 1  # a replaced file: from the start


def test_refusals_come_back_as_records_and_reach_the_hook(service: ClusterService) -> None:
    iam = active_cluster(service, "signed", client_authentication=IAM, encryption_in_transit=TLS)
    broker = brokers(service, iam)[0]
    line = json.dumps(
        {
            "time": "2026-12-06T21:00:00.5Z",
            "requestId": "r1",
            "mechanism": "AWS_MSK_IAM",
            "reason": "unknown key",
            "detail": "no access key AKIAX may sign in here",
            "accessKeyId": "AKIAX",
        }
    )
    agent = RecordingAgent(lines={node_key(iam, broker): [line, "not json"]})
    refusals = SignInRefusals(service.store, lambda _a: agent, node_key)  # type: ignore[arg-type, return-value]
    (refusal,) = refusals.read(iam.arn)
    assert (refusal.broker_id, refusal.reason, refusal.access_key_id) == (
        broker.node_id,
        "unknown key",
        "AKIAX",
    )
    service.sign_in_refusals = refusals
    assert service.iam_sign_in_refusals(iam.arn) == [refusal]

    seen = []
    collector = RefusalCollector(refusals, seen.append)
    assert collector.collect_once() == 1
    assert collector.collect_once() == 0  # each refusal once
    assert seen == [refusal]
