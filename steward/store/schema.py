"""Tables of the control plane's store: the single source of truth, surviving restarts."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

clusters = Table(
    "clusters",
    metadata,
    Column("arn", String, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("spec", JSON, nullable=False),
    Column("state", String, nullable=False),
    Column("state_info", JSON),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("current_version", String, nullable=False),
    Column("kafka_cluster_id", String, nullable=False),
    Column("active_operation_arn", String),
    Column("cluster_type", String, nullable=False),
    Column("generation", Integer, nullable=False, server_default="1"),
    Column("status", JSON),
)

nodes = Table(
    "nodes",
    metadata,
    Column("cluster_arn", String, primary_key=True),
    Column("node_id", Integer, primary_key=True),
    Column("role", String, nullable=False),
    Column("zone", String, nullable=False),
    Column("host", String, nullable=False, unique=True),
    Column("agent", String, nullable=False),
    Column("ports", JSON, nullable=False),
    Column("directory_id", String, nullable=False),
    Column("added_time", DateTime(timezone=True), nullable=False),
    Column("kafka_version", String, nullable=False),
    Column("instance_type", String, nullable=False),
)

operations = Table(
    "operations",
    metadata,
    Column("arn", String, primary_key=True),
    Column("cluster_arn", String, nullable=False, index=True),
    Column("type", String, nullable=False),
    Column("state", String, nullable=False),
    Column("steps", JSON, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True)),
    Column("source", JSON),
    Column("target", JSON),
    Column("error_code", String),
    Column("error_message", Text),
    Column("progress", JSON, nullable=False),
    Column("generation", Integer, nullable=False, server_default="0"),
)

configurations = Table(
    "configurations",
    metadata,
    Column("arn", String, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("kafka_versions", JSON, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("state", String, nullable=False),
)

configuration_revisions = Table(
    "configuration_revisions",
    metadata,
    Column("configuration_arn", String, primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("description", Text),
    Column("server_properties", LargeBinary, nullable=False),
)

tags = Table(
    "tags",
    metadata,
    Column("resource_arn", String, primary_key=True),
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("secret_access_key", String, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("user_name", String),
    Column("status", String, nullable=False, server_default="Active"),
    Column("last_used_time", DateTime(timezone=True)),
    Column("last_used_service", String),
)
"""Keys that sign requests to the API (SigV4), each an IAM user's (`user_name`; a key of an older
Steward, which had no users, is given to the administrator user when the store opens). The secret
is kept as given: verifying a signature needs it. `status` is IAM's Active or Inactive."""

iam_users = Table(
    "iam_users",
    metadata,
    Column("user_name", String, primary_key=True),
    Column("user_id", String, nullable=False),
    Column("path", String, nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("tags", JSON, nullable=False),
)
"""IAM users (`steward.iam`): who access keys belong to. Tags as a list of {Key, Value}."""

iam_roles = Table(
    "iam_roles",
    metadata,
    Column("role_name", String, primary_key=True),
    Column("role_id", String, nullable=False),
    Column("path", String, nullable=False),
    Column("assume_role_policy", Text, nullable=False),
    Column("description", String),
    Column("max_session_duration", Integer, nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("tags", JSON, nullable=False),
)
"""IAM roles: a trust policy (who may assume the role) and the role's identity policies."""

iam_policies = Table(
    "iam_policies",
    metadata,
    Column("arn", String, primary_key=True),
    Column("policy_name", String, nullable=False, unique=True),
    Column("policy_id", String, nullable=False),
    Column("path", String, nullable=False),
    Column("description", String),
    Column("default_version_id", String, nullable=False),
    Column("next_version", Integer, nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("update_date", DateTime(timezone=True), nullable=False),
)
"""Customer managed IAM policies; their documents are in `iam_policy_versions`."""

iam_policy_versions = Table(
    "iam_policy_versions",
    metadata,
    Column("policy_arn", String, primary_key=True),
    Column("version_id", String, primary_key=True),
    Column("document", Text, nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
)

iam_attachments = Table(
    "iam_attachments",
    metadata,
    Column("principal_kind", String, primary_key=True),
    Column("principal_name", String, primary_key=True),
    Column("policy_arn", String, primary_key=True),
)
"""Which managed policies (customer ones, or AWS managed ones Steward knows) each user (kind
`user`) and role (`role`) has attached."""

iam_inline_policies = Table(
    "iam_inline_policies",
    metadata,
    Column("principal_kind", String, primary_key=True),
    Column("principal_name", String, primary_key=True),
    Column("policy_name", String, primary_key=True),
    Column("document", Text, nullable=False),
)

iam_sessions = Table(
    "iam_sessions",
    metadata,
    Column("access_key_id", String, primary_key=True),
    Column("secret_access_key", String, nullable=False),
    Column("session_token", String, nullable=False),
    Column("role_name", String, nullable=False),
    Column("session_name", String, nullable=False),
    Column("source_identity", String, nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
)
"""Temporary credentials of assumed roles (STS AssumeRole), until they expire."""

iam_audit = Table(
    "iam_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("source", String, nullable=False),
    Column("principal", String, nullable=False),
    Column("action", String, nullable=False),
    Column("resource", String, nullable=False),
    Column("decision", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("request_id", String, unique=True),
)
"""Refusals: API requests an identity's policies did not allow (`source` api), and refused sign-ins
to brokers (`sign-in`): who, what, on what, and why. A sign-in refusal keeps the broker's request
id, so that one handed over again (after a control plane restart) is recorded once."""

data_keys = Table(
    "data_keys",
    metadata,
    Column("kafka_cluster_id", String, primary_key=True),
    Column("sealed_key", LargeBinary, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
)
"""Each cluster's data key for encryption at rest, sealed by the master key
(`steward.crypto.master_key`), keyed by the Kafka cluster id its nodes' specs carry."""

alarms = Table(
    "alarms",
    metadata,
    Column("name", String, primary_key=True),
    Column("rule", JSON, nullable=False),
    Column("cluster_arn", String, index=True),
    Column("state", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
    Column("evaluated_at", DateTime(timezone=True)),
)
"""Alarms on metrics (`steward.domain.alarms`): the rule as JSON and the state last found."""

alarm_history = Table(
    "alarm_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alarm_name", String, nullable=False, index=True),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    Column("kind", String, nullable=False),
    Column("summary", Text, nullable=False),
    Column("data", JSON, nullable=False),
)
"""What happened to each alarm, newest last: configuration changes, state changes, and the
webhook notifications sent (or that failed). Kept after the alarm is deleted, like CloudWatch's."""

secrets = Table(
    "secrets",
    metadata,
    Column("arn", String, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("description", Text),
    Column("kms_key_id", String),
    Column("tags", JSON, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("last_changed_time", DateTime(timezone=True), nullable=False),
    Column("last_accessed_time", DateTime(timezone=True)),
    Column("deletion_time", DateTime(timezone=True)),
    Column("resource_policy", Text),
)
"""Secrets of the Secrets-Manager-compatible API (`steward.secrets.service`); a secret scheduled
for deletion keeps its row, with the time it goes, until then. `resource_policy` is the JSON text
PutResourcePolicy recorded (None without one)."""

secret_versions = Table(
    "secret_versions",
    metadata,
    Column("secret_arn", String, primary_key=True),
    Column("version_id", String, primary_key=True),
    Column("sealed_value", LargeBinary, nullable=False),
    Column("binary", Boolean, nullable=False),
    Column("stages", JSON, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("last_accessed_time", DateTime(timezone=True)),
)
"""A secret's values, each sealed by the master key (`steward.crypto.master_key`) with its
secret's ARN and version id as context: the store never holds a value in clear. A version whose
stages are empty is deprecated: kept (ListSecretVersionIds shows it with IncludeDeprecated) until
there are too many."""

scram_secrets = Table(
    "scram_secrets",
    metadata,
    Column("cluster_arn", String, primary_key=True),
    Column("secret_arn", String, primary_key=True),
    Column("state", String, nullable=False),
    Column("association_time", DateTime(timezone=True), nullable=False),
    Column("kafka_user", String),
    Column("applied_version_id", String),
    Column("detail", Text),
)
"""Secrets associated with a cluster (MSK's BatchAssociateScramSecret) and what of each Kafka
has: the user whose SCRAM credential Steward last wrote, from which version of the secret."""

certificates = Table(
    "certificates",
    metadata,
    Column("kafka_cluster_id", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("certificate_pem", Text, nullable=False),
    Column("sealed_key", LargeBinary, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
)
"""Each cluster's CA (name `ca`) and its nodes' certificates (`node-<id>@<hosts>`), with their
private keys sealed by the master key (`steward.crypto.master_key`)."""

private_cas = Table(
    "private_cas",
    metadata,
    Column("arn", String, primary_key=True),
    Column("type", String, nullable=False),
    Column("status", String, nullable=False),
    Column("configuration", JSON, nullable=False),
    Column("revocation_configuration", JSON),
    Column("key_storage_security_standard", String, nullable=False),
    Column("usage_mode", String, nullable=False),
    Column("sealed_key", LargeBinary, nullable=False),
    Column("certificate_pem", Text),
    Column("serial", String),
    Column("not_before", DateTime(timezone=True)),
    Column("not_after", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_state_change_at", DateTime(timezone=True), nullable=False),
    Column("restorable_until", DateTime(timezone=True)),
    Column("status_before_deletion", String),
    Column("tags", JSON, nullable=False),
)
"""Private certificate authorities of the ACM-PCA-compatible API (`steward.pca.service`):
their configuration as the API took it, their certificate, and their private key sealed by the
master key (`steward.crypto.master_key`) with the CA's ARN as context. A deleted CA keeps its row,
with the time it can be restored until, until then."""

private_ca_certificates = Table(
    "private_ca_certificates",
    metadata,
    Column("ca_arn", String, primary_key=True),
    Column("serial", String, primary_key=True),
    Column("certificate_pem", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("not_after", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revocation_reason", String),
)
"""Every certificate a private CA issued (serial as lowercase hex, as in its ARN), and when and
why it was revoked: what the CA's revocation list is made from."""

access_policies = Table(
    "access_policies",
    metadata,
    Column("cluster_arn", String, primary_key=True),
    Column("principal", String, primary_key=True),
    Column("document", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("deleting", Boolean, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    Column("in_kafka", Boolean, nullable=False),
    Column("applied_version", Integer),
    Column("applied_time", DateTime(timezone=True)),
    Column("detail", Text),
)
"""Access policies of a cluster's principals (`steward.security.cluster_policies`), one per
principal: the document as compact JSON, a version counted up at every change, and what the sync
(`steward.security.policy_sync`) made of it: whether Steward may have written ACLs of the principal
(`in_kafka`), which version Kafka's ACLs are (`applied_version`) and the last failure. A deleted
policy whose ACLs may be in Kafka stays, `deleting`, until the sync has removed them."""

resource_policies = Table(
    "resource_policies",
    metadata,
    Column("cluster_arn", String, primary_key=True),
    Column("document", Text, nullable=False),
    Column("version", String, nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)
"""MSK's cluster policy (PutClusterPolicy) of each cluster that has one: the document as the user
wrote it and its version, which a change must name (`steward.control.resource_policies`)."""

rebalancing = Table(
    "rebalancing",
    metadata,
    Column("cluster_arn", String, primary_key=True),
    Column("status", String, nullable=False),
    Column("threshold", JSON, nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)
"""Continuous balancing of each cluster whose setting was ever given (MSK's UpdateRebalancing):
ACTIVE or PAUSED, and the imbalance (largest deviation from the mean utilization, as a fraction
of it) above which the balancer plans and applies a rebalance (`steward.control.rebalancing`)."""

scalable_targets = Table(
    "scalable_targets",
    metadata,
    Column("service_namespace", String, primary_key=True),
    Column("resource_id", String, primary_key=True),
    Column("scalable_dimension", String, primary_key=True),
    Column("arn", String, nullable=False),
    Column("min_capacity", Integer, nullable=False),
    Column("max_capacity", Integer, nullable=False),
    Column("role_arn", String, nullable=False),
    Column("suspended", JSON, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
)
"""Application Auto Scaling's scalable targets (`steward.autoscaling`): what may be scaled
(a cluster's broker storage, its broker count) and between which bounds."""

scaling_policies = Table(
    "scaling_policies",
    metadata,
    Column("arn", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("service_namespace", String, nullable=False),
    Column("resource_id", String, nullable=False),
    Column("scalable_dimension", String, nullable=False),
    Column("policy_type", String, nullable=False),
    Column("configuration", JSON, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
)
"""Scaling policies of the scalable targets: a target tracking configuration in Application
Auto Scaling's shape."""

scaling_activities = Table(
    "scaling_activities",
    metadata,
    Column("activity_id", String, primary_key=True),
    Column("service_namespace", String, nullable=False),
    Column("resource_id", String, nullable=False),
    Column("scalable_dimension", String, nullable=False),
    Column("description", Text, nullable=False),
    Column("cause", Text, nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True)),
    Column("status_code", String, nullable=False),
    Column("status_message", Text),
    Column("operation_arn", String),
)
"""Every scaling decision the autoscaler took, with the cluster operation that carries it out."""
functions = Table(
    "functions",
    metadata,
    Column("name", String, primary_key=True),
    Column("config", JSON, nullable=False),
    Column("code_zip", LargeBinary),
    Column("state", String, nullable=False),
    Column("state_reason", Text),
    Column("last_modified", DateTime(timezone=True), nullable=False),
)
"""Functions of the Lambda-compatible service (`steward.functions`): their configuration as the
API shows it (runtime, handler, environment, timeout, memory, code hash and size, revision) and
the ZIP their code came in, from which each host unpacks it; `state` is Lambda's (Pending while a
virtualenv is built, then Active or Failed)."""

event_source_mappings = Table(
    "event_source_mappings",
    metadata,
    Column("uuid", String, primary_key=True),
    Column("function_name", String, nullable=False),
    Column("config", JSON, nullable=False),
    Column("state", String, nullable=False),
    Column("state_reason", Text, nullable=False),
    Column("last_processing_result", String, nullable=False),
    Column("last_modified", DateTime(timezone=True), nullable=False),
)
"""Event-source mappings from a cluster's topics to a function: what the user asked (topics,
starting position, batching, filters, failure destination, retries) and where the pollers have
got it (Lambda's State, StateTransitionReason and LastProcessingResult)."""
connect_resources = Table(
    "connect_resources",
    metadata,
    Column("arn", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("name", String, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("record", JSON, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "name"),
)
"""MSK Connect's resources (`steward.connect`): custom plugins, worker configurations and
connectors, each a JSON record of its desired state and what was last observed. `generation`
grows with every change a user asks for, so that the reconciler's observations of an older one
are not written over it."""

control_plane_leases = Table(
    "control_plane_leases",
    metadata,
    Column("name", String, primary_key=True),
    Column("holder", String, nullable=False),
    Column("address", String, nullable=False),
    Column("term", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("renewed_at", Float, nullable=False),
)
"""Leases of the control planes that share this store (`steward.store.leases`): which server
leads (`holder`), where the others send it the writes they are given (`address`, its API's URL),
until when (`expires_at`, seconds since the epoch by the database's clock, which every server
reads alike) and since which takeover (`term`, counted up each time another server takes over)."""

agent_credentials = Table(
    "agent_credentials",
    metadata,
    Column("name", String, primary_key=True),
    Column("certificate_pem", Text, nullable=False),
    Column("sealed_key", LargeBinary, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
)
"""The agents CA (name `ca`), made once per store, and the control plane's client certificate
for the agent API (`control-plane`, replaced when renewed), each key sealed by the master key
(`steward.security.agent_authority`)."""

agent_certificates = Table(
    "agent_certificates",
    metadata,
    Column("host", String, primary_key=True),
    Column("zone", String, nullable=False),
    Column("address", String, nullable=False),
    Column("port", Integer, nullable=False),
    Column("certificate_pem", Text, nullable=False),
    Column("not_after", DateTime(timezone=True), nullable=False),
    Column("issue_time", DateTime(timezone=True), nullable=False),
    Column("joined", Boolean, nullable=False),
)
"""The serving certificate each host agent was last given (never its key, which stays on its
machine), where the agent listens, and whether it joined with a token (else it is an embedded
agent of this machine): what the renewal of agent certificates works from."""

join_tokens = Table(
    "join_tokens",
    metadata,
    Column("token_id", String, primary_key=True),
    Column("token_hash", String, nullable=False, unique=True),
    Column("zone", String),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("used_by", String),
)
"""Single-use tokens that let a machine join as a host (`steward host join-token create`): only
the SHA-256 of each token is kept; `zone` is the zone it may join (None: any), `used_at` and
`used_by` (the host that joined) are set when it is burnt."""
hosts = Table(
    "hosts",
    metadata,
    Column("name", String, primary_key=True),
    Column("zone", String, nullable=False),
    Column("agent_address", String, nullable=False),
    Column("node_addresses", JSON, nullable=False),
    Column("cores", Float, nullable=False),
    Column("memory_bytes", BigInteger, nullable=False),
    Column("disks", JSON, nullable=False),
    Column("state", String, nullable=False),
    Column("origin", String, nullable=False),
    Column("labels", JSON, nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True)),
)
