"""The baseline: the tables of the store as they stood when Alembic took over its migrations.

Before, a store was brought up to date by `create_all` and by adding every missing column of the
current tables; a store of any earlier Steward therefore has some of these tables, each with some
of these columns. Upgrading from nothing makes what is missing (every added column has a server
default or allows NULL) and leaves every row as it is: a new store and an old one both end here.
The tables are a frozen copy, never edited: later changes are revisions of their own.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
)

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

baseline = MetaData()
clusters = Table(
    "clusters",
    baseline,
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
    baseline,
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
    baseline,
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
    baseline,
    Column("arn", String, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("kafka_versions", JSON, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("state", String, nullable=False),
)
configuration_revisions = Table(
    "configuration_revisions",
    baseline,
    Column("configuration_arn", String, primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("description", Text),
    Column("server_properties", LargeBinary, nullable=False),
)
tags = Table(
    "tags",
    baseline,
    Column("resource_arn", String, primary_key=True),
    Column("key", String, primary_key=True),
    Column("value", String, nullable=False),
)
access_keys = Table(
    "access_keys",
    baseline,
    Column("access_key_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("secret_access_key", String, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("user_name", String),
    Column("status", String, nullable=False, server_default="Active"),
    Column("last_used_time", DateTime(timezone=True)),
    Column("last_used_service", String),
)
iam_users = Table(
    "iam_users",
    baseline,
    Column("user_name", String, primary_key=True),
    Column("user_id", String, nullable=False),
    Column("path", String, nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("tags", JSON, nullable=False),
)
iam_roles = Table(
    "iam_roles",
    baseline,
    Column("role_name", String, primary_key=True),
    Column("role_id", String, nullable=False),
    Column("path", String, nullable=False),
    Column("assume_role_policy", Text, nullable=False),
    Column("description", String),
    Column("max_session_duration", Integer, nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("tags", JSON, nullable=False),
)
iam_policies = Table(
    "iam_policies",
    baseline,
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
iam_policy_versions = Table(
    "iam_policy_versions",
    baseline,
    Column("policy_arn", String, primary_key=True),
    Column("version_id", String, primary_key=True),
    Column("document", Text, nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
)
iam_attachments = Table(
    "iam_attachments",
    baseline,
    Column("principal_kind", String, primary_key=True),
    Column("principal_name", String, primary_key=True),
    Column("policy_arn", String, primary_key=True),
)
iam_inline_policies = Table(
    "iam_inline_policies",
    baseline,
    Column("principal_kind", String, primary_key=True),
    Column("principal_name", String, primary_key=True),
    Column("policy_name", String, primary_key=True),
    Column("document", Text, nullable=False),
)
iam_sessions = Table(
    "iam_sessions",
    baseline,
    Column("access_key_id", String, primary_key=True),
    Column("secret_access_key", String, nullable=False),
    Column("session_token", String, nullable=False),
    Column("role_name", String, nullable=False),
    Column("session_name", String, nullable=False),
    Column("source_identity", String, nullable=False),
    Column("create_date", DateTime(timezone=True), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
)
iam_audit = Table(
    "iam_audit",
    baseline,
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
data_keys = Table(
    "data_keys",
    baseline,
    Column("kafka_cluster_id", String, primary_key=True),
    Column("sealed_key", LargeBinary, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
)
alarms = Table(
    "alarms",
    baseline,
    Column("name", String, primary_key=True),
    Column("rule", JSON, nullable=False),
    Column("cluster_arn", String, index=True),
    Column("state", String, nullable=False),
    Column("reason", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True)),
    Column("evaluated_at", DateTime(timezone=True)),
)
alarm_history = Table(
    "alarm_history",
    baseline,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alarm_name", String, nullable=False, index=True),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    Column("kind", String, nullable=False),
    Column("summary", Text, nullable=False),
    Column("data", JSON, nullable=False),
)
secrets = Table(
    "secrets",
    baseline,
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
secret_versions = Table(
    "secret_versions",
    baseline,
    Column("secret_arn", String, primary_key=True),
    Column("version_id", String, primary_key=True),
    Column("sealed_value", LargeBinary, nullable=False),
    Column("binary", Boolean, nullable=False),
    Column("stages", JSON, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    Column("last_accessed_time", DateTime(timezone=True)),
)
scram_secrets = Table(
    "scram_secrets",
    baseline,
    Column("cluster_arn", String, primary_key=True),
    Column("secret_arn", String, primary_key=True),
    Column("state", String, nullable=False),
    Column("association_time", DateTime(timezone=True), nullable=False),
    Column("kafka_user", String),
    Column("applied_version_id", String),
    Column("detail", Text),
)
certificates = Table(
    "certificates",
    baseline,
    Column("kafka_cluster_id", String, primary_key=True),
    Column("name", String, primary_key=True),
    Column("certificate_pem", Text, nullable=False),
    Column("sealed_key", LargeBinary, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
)
private_cas = Table(
    "private_cas",
    baseline,
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
private_ca_certificates = Table(
    "private_ca_certificates",
    baseline,
    Column("ca_arn", String, primary_key=True),
    Column("serial", String, primary_key=True),
    Column("certificate_pem", Text, nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("not_after", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revocation_reason", String),
)
access_policies = Table(
    "access_policies",
    baseline,
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
resource_policies = Table(
    "resource_policies",
    baseline,
    Column("cluster_arn", String, primary_key=True),
    Column("document", Text, nullable=False),
    Column("version", String, nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)
functions = Table(
    "functions",
    baseline,
    Column("name", String, primary_key=True),
    Column("config", JSON, nullable=False),
    Column("code_zip", LargeBinary),
    Column("state", String, nullable=False),
    Column("state_reason", Text),
    Column("last_modified", DateTime(timezone=True), nullable=False),
)
event_source_mappings = Table(
    "event_source_mappings",
    baseline,
    Column("uuid", String, primary_key=True),
    Column("function_name", String, nullable=False),
    Column("config", JSON, nullable=False),
    Column("state", String, nullable=False),
    Column("state_reason", Text, nullable=False),
    Column("last_processing_result", String, nullable=False),
    Column("last_modified", DateTime(timezone=True), nullable=False),
)
connect_resources = Table(
    "connect_resources",
    baseline,
    Column("arn", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("name", String, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("record", JSON, nullable=False),
    Column("creation_time", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "name"),
)


def upgrade() -> None:
    bind = op.get_bind()
    baseline.create_all(bind, checkfirst=True)
    inspector = inspect(bind)
    for table in baseline.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                op.add_column(table.name, column._copy())


def downgrade() -> None:
    baseline.drop_all(op.get_bind())
