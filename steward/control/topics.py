"""The topic use cases (MSK's Topics API): a cluster's Kafka topics, read and changed through
Kafka itself.

Steward keeps no record of topics: Kafka's metadata is the truth, so topics that any Kafka client
made are listed too, and every answer is as fresh as Kafka's. Topic calls need the brokers
serving, so the cluster must be past CREATING and neither DELETING nor FAILED; changes of the
cluster (scaling, rolling restarts, healing) do not stop them.

Kafka's refusals become MSK's errors: an unknown topic is a NotFoundException when read and an
UnknownTopicOrPartitionException when changed (Kafka's own error, as MSK passes it on), a taken
name a TopicExistsException, an invalid request a BadRequestException naming the member, and a
cluster that does not answer a ClusterConnectivityException.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from steward.control.arns import ArnFactory
from steward.domain.errors import (
    BadRequestException,
    ClusterConnectivityException,
    KafkaRequestException,
    NotFoundException,
    ReassignmentInProgressException,
    TopicExistsException,
    UnknownTopicOrPartitionException,
)
from steward.domain.model import (
    Cluster,
    Topic,
    TopicPartition,
    TopicState,
)
from steward.kafka import topics as kafka_topics
from steward.kafka.errors import KafkaAdminError
from steward.kafka.properties import PropertiesError, parse_properties
from steward.security.certificates import serving_bootstrap
from steward.store.store import Store

READ_TIMEOUT = 10.0
CHANGE_TIMEOUT = 30.0
VISIBLE_TIMEOUT = 10.0
"""How long a create or a partition increase waits for every new partition to have a leader
before it answers; the answer says CREATING or UPDATING when that takes longer."""

_MEMBERS = {
    "name": "topicName",
    "partitions": "partitionCount",
    "replication_factor": "replicationFactor",
    "config": "configs",
}
"""What Kafka refused -> the MSK request member that asked for it."""


def parse_topic_configs(data: bytes) -> dict[str, str]:
    """A topic's settings as MSK's `configs` member carries them, once base64-decoded: a JSON
    object (what MSK answers with, and what Terraform's aws_msk_topic sends) or Java properties
    text (`retention.ms=60000`)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequestException("configs must hold UTF-8 text.", "configs") from error
    if text.strip().startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise BadRequestException(f"configs is not valid JSON: {error}.", "configs") from None
        if not isinstance(parsed, dict):
            raise BadRequestException("configs must be a JSON object.", "configs")
        configs = {key: _config_value(key, value) for key, value in parsed.items()}
    else:
        try:
            configs = parse_properties(text)
        except PropertiesError as error:
            raise BadRequestException(f"Invalid configs: {error}.", "configs") from error
    if any(not key.strip() for key in configs):
        raise BadRequestException("configs has an empty key.", "configs")
    return configs


def _config_value(key: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise BadRequestException(f"configs: the value of {key} must be a string.", "configs")


class ClusterTopics:
    def __init__(self, store: Store, arns: ArnFactory, describe: Callable[[str], Cluster]) -> None:
        self.store = store
        self.arns = arns
        self._describe = describe

    # --- reading --------------------------------------------------------------------------------
    def list_topics(self, cluster_arn: str, name_prefix: str | None = None) -> list[Topic]:
        """Every topic whose name starts with `name_prefix`, internal ones included, by name."""
        cluster, bootstrap = self._serving(cluster_arn)
        with self._kafka_answers(cluster, None, changing=False):
            found = kafka_topics.list_topics(bootstrap, READ_TIMEOUT)
        return [
            self._topic(cluster, description)
            for description in found
            if not name_prefix or description.name.startswith(name_prefix)
        ]

    def describe_topic(self, cluster_arn: str, name: str, with_configs: bool = True) -> Topic:
        """The topic's partitions and, `with_configs`, every config with its value."""
        cluster, bootstrap = self._serving(cluster_arn)
        self._require_name(name, changing=False)
        with self._kafka_answers(cluster, name, changing=False):
            description = kafka_topics.describe_topic(bootstrap, name, READ_TIMEOUT)
            configs = None
            if with_configs:
                described = kafka_topics.topic_configs(bootstrap, name, READ_TIMEOUT)
                configs = {k: c.value for k, c in described.items() if c.value is not None}
        return self._topic(cluster, description, configs=configs)

    # --- changing -------------------------------------------------------------------------------
    def create_topic(
        self,
        cluster_arn: str,
        name: str,
        partition_count: int,
        replication_factor: int,
        configs: bytes | None = None,
    ) -> Topic:
        cluster, bootstrap = self._serving(cluster_arn)
        problem = kafka_topics.topic_name_problem(name)
        if problem is not None:
            raise BadRequestException(f"Invalid topic name {name!r}: {problem}.", "topicName")
        if partition_count < 1:
            raise BadRequestException("A topic has at least one partition.", "partitionCount")
        brokers = cluster.spec.number_of_broker_nodes
        if not 1 <= replication_factor <= brokers:
            raise BadRequestException(
                f"The replication factor must be between 1 and the cluster's number of brokers "
                f"({brokers}); it is {replication_factor}.",
                "replicationFactor",
            )
        settings = parse_topic_configs(configs) if configs is not None else {}
        with self._kafka_answers(cluster, name, changing=True):
            kafka_topics.create_topic(
                bootstrap, name, partition_count, replication_factor, settings, CHANGE_TIMEOUT
            )
        led = kafka_topics.wait_until_led(bootstrap, name, partition_count, VISIBLE_TIMEOUT)
        if led is None:
            return Topic(self.arns.topic(cluster.arn, name), name, state=TopicState.CREATING)
        return self._topic(cluster, led)

    def update_topic(
        self,
        cluster_arn: str,
        name: str,
        configs: bytes | None = None,
        partition_count: int | None = None,
    ) -> Topic:
        """Replace the topic's own configs (keys left out inherit the cluster's values again),
        grow its partitions, or both (configs first)."""
        if configs is None and partition_count is None:
            raise BadRequestException(
                "You must specify either configs or partitionCount to update.", "configs"
            )
        cluster, bootstrap = self._serving(cluster_arn)
        self._require_name(name, changing=True)
        settings = parse_topic_configs(configs) if configs is not None else None
        with self._kafka_answers(cluster, name, changing=True):
            current = kafka_topics.describe_topic(bootstrap, name, READ_TIMEOUT)
            if partition_count is not None and partition_count <= len(current.partitions):
                raise BadRequestException(
                    f"A topic's partitions can only grow: {name} has {len(current.partitions)}; "
                    f"ask for more.",
                    "partitionCount",
                )
            if settings is not None:
                kafka_topics.replace_topic_configs(
                    bootstrap, name, settings, timeout=CHANGE_TIMEOUT
                )
            if partition_count is not None:
                kafka_topics.add_partitions(bootstrap, name, partition_count, CHANGE_TIMEOUT)
        wanted = partition_count or len(current.partitions)
        led = kafka_topics.wait_until_led(bootstrap, name, wanted, VISIBLE_TIMEOUT)
        if led is None:
            return Topic(self.arns.topic(cluster.arn, name), name, state=TopicState.UPDATING)
        return self._topic(cluster, led)

    def delete_topic(self, cluster_arn: str, name: str) -> Topic:
        """Kafka removes the topic from its metadata at once and its data a little later."""
        cluster, bootstrap = self._serving(cluster_arn)
        self._require_name(name, changing=True)
        with self._kafka_answers(cluster, name, changing=True):
            kafka_topics.delete_topic(bootstrap, name, CHANGE_TIMEOUT)
        return Topic(self.arns.topic(cluster.arn, name), name, state=TopicState.DELETING)

    # --- shared ---------------------------------------------------------------------------------
    def _serving(self, cluster_arn: str) -> tuple[Cluster, str]:
        """The cluster and its brokers' bootstrap string, when its brokers serve."""
        cluster = self._describe(cluster_arn)
        return cluster, serving_bootstrap(self.store, cluster, "its topics")

    @staticmethod
    def _require_name(name: str, changing: bool) -> None:
        """A name Kafka would refuse names no topic."""
        if kafka_topics.topic_name_problem(name) is not None:
            raise _unknown(name, changing)

    def _topic(
        self,
        cluster: Cluster,
        description: kafka_topics.TopicDescription,
        configs: dict[str, str] | None = None,
    ) -> Topic:
        return Topic(
            arn=self.arns.topic(cluster.arn, description.name),
            name=description.name,
            partitions=tuple(
                TopicPartition(p.partition, p.leader, p.replicas, p.isr)
                for p in description.partitions
            ),
            configs=configs,
        )

    @contextmanager
    def _kafka_answers(self, cluster: Cluster, name: str | None, changing: bool) -> Iterator[None]:
        """Kafka's errors inside the block as MSK's."""
        try:
            yield
        except kafka_topics.UnknownTopicError as error:
            raise _unknown(name or "", changing) from error
        except kafka_topics.TopicExistsError as error:
            raise TopicExistsException(f"Topic {name} already exists.", "topicName") from error
        except kafka_topics.ReassignmentInProgressError as error:
            raise ReassignmentInProgressException(
                f"Kafka is moving replicas of topic {name}; try again when it is done ({error}).",
                "partitionCount",
            ) from error
        except kafka_topics.InvalidTopicRequestError as error:
            member = _MEMBERS.get(error.subject)
            if member is None:
                raise KafkaRequestException(f"Kafka refused the request: {error}") from error
            raise BadRequestException(f"Kafka refused {member}: {error}", member) from error
        except KafkaAdminError as error:
            raise ClusterConnectivityException(
                f"Kafka in cluster {cluster.name} did not answer: {error}", "clusterArn"
            ) from error


def _unknown(name: str, changing: bool) -> NotFoundException:
    kind = UnknownTopicOrPartitionException if changing else NotFoundException
    return kind(f"Topic {name} does not exist.", "topicName")
