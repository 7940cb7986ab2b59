"""IAM and STS on Steward's endpoint, through boto3's own `iam`, `sts`, `kafka` and
`secretsmanager` clients against the real API app with SigV4 on: users get keys and policies,
every request is decided by its caller's policies (explicit deny first, then allow, else
refused), refusals have each service's shape and are audited with the reason, and AssumeRole's
temporary credentials work until they expire."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from steward.api.app import build_app
from steward.api.auth.keys import NewAccessKey, create_access_key
from steward.api.auth.verifier import SigV4Verifier
from steward.control.service import ClusterService
from steward.iam.service import utcnow
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving

ZONES = (Zone("az-a", "127.78.1"), Zone("az-b", "127.78.2"), Zone("az-c", "127.78.3"))
ACCOUNT = "123456789012"
CLUSTER = f"arn:aws:kafka:us-east-1:{ACCOUNT}:cluster/orders/0f0f0f0f-0000-4000-8000-000000000000-1"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def deny(action: Any, resource: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **more}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("iam")


@pytest.fixture(scope="module")
def service(home: Path) -> Iterator[ClusterService]:
    settings = Settings(home=home, zones=ZONES, account_id=ACCOUNT)
    store = Store(settings.db_url)
    yield ClusterService(settings, store)
    store.close()


@pytest.fixture(scope="module")
def admin_key(service: ClusterService) -> NewAccessKey:
    return create_access_key(service.store.access_keys, "tests")


@pytest.fixture(scope="module")
def verifier(service: ClusterService) -> SigV4Verifier:
    return SigV4Verifier(service.settings.region, service.iam.signing_secret)


@pytest.fixture(scope="module")
def endpoint(service: ClusterService, verifier: SigV4Verifier) -> Iterator[str]:
    with serving(build_app(service, verifier)) as url:
        yield url


def client(endpoint: str, name: str, key_id: str, secret: str, token: str | None = None) -> Any:
    return boto3.client(
        name,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


@pytest.fixture(scope="module")
def iam(endpoint: str, admin_key: NewAccessKey) -> Any:
    return client(endpoint, "iam", admin_key.access_key_id, admin_key.secret_access_key)


def user_with(iam: Any, endpoint: str, name: str, document: str | None) -> dict[str, str]:
    """A user with an inline policy `document` and a key; the key's ids."""
    iam.create_user(UserName=name)
    if document is not None:
        iam.put_user_policy(UserName=name, PolicyName="main", PolicyDocument=document)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}


def error_of(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return {
        **raised.value.response["Error"],
        "Status": raised.value.response["ResponseMetadata"]["HTTPStatusCode"],
    }


def test_the_first_key_is_the_administrators(
    iam: Any, endpoint: str, admin_key: NewAccessKey
) -> None:
    sts = client(endpoint, "sts", admin_key.access_key_id, admin_key.secret_access_key)
    identity = sts.get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/steward-admin"
    assert identity["Account"] == ACCOUNT
    attached = iam.list_attached_user_policies(UserName="steward-admin")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    keys = iam.list_access_keys(UserName="steward-admin")["AccessKeyMetadata"]
    assert admin_key.access_key_id in [k["AccessKeyId"] for k in keys]


def test_users_tags_keys_and_refused_deletion(iam: Any) -> None:
    made = iam.create_user(UserName="carol", Tags=[{"Key": "team", "Value": "data"}])["User"]
    assert made["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/carol"
    assert error_of(iam.create_user, UserName="carol")["Code"] == "EntityAlreadyExists"
    iam.tag_user(UserName="carol", Tags=[{"Key": "env", "Value": "prod"}])
    iam.untag_user(UserName="carol", TagKeys=["team"])
    assert iam.list_user_tags(UserName="carol")["Tags"] == [{"Key": "env", "Value": "prod"}]
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    assert key["Status"] == "Active" and len(key["SecretAccessKey"]) == 40
    refused = error_of(iam.delete_user, UserName="carol")
    assert refused["Code"] == "DeleteConflict" and refused["Status"] == 409
    iam.delete_access_key(UserName="carol", AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName="carol")
    assert error_of(iam.get_user, UserName="carol")["Code"] == "NoSuchEntity"
    assert "carol" not in [u["UserName"] for u in iam.list_users()["Users"]]


def test_a_key_without_delete_cluster_is_forbidden_while_describe_works(
    iam: Any, endpoint: str, admin_key: NewAccessKey
) -> None:
    admin = client(endpoint, "kafka", admin_key.access_key_id, admin_key.secret_access_key)
    arn = admin.create_cluster(
        ClusterName="kept",
        Tags={"team": "payments"},
        KafkaVersion="4.3.1",
        NumberOfBrokerNodes=3,
        BrokerNodeGroupInfo={
            "InstanceType": "kafka.m5.large",
            "ClientSubnets": ["az-a", "az-b", "az-c"],
            "StorageInfo": {"EbsStorageInfo": {"VolumeSize": 10}},
        },
    )["ClusterArn"]
    ids = user_with(iam, endpoint, "reader", policy(allow(["kafka:Describe*", "kafka:List*"])))
    kafka = client(endpoint, "kafka", ids["key_id"], ids["secret"])
    assert [c["ClusterArn"] for c in kafka.list_clusters_v2()["ClusterInfoList"]] == [arn]
    assert kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]["ClusterName"] == "kept"
    refused = error_of(kafka.delete_cluster, ClusterArn=arn)
    assert refused["Code"] == "ForbiddenException" and refused["Status"] == 403
    assert refused["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: "
        f"kafka:DeleteCluster on resource: {arn} because no identity-based policy allows "
        "the kafka:DeleteCluster action"
    )
    assert kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]["State"] != "DELETING"
    records = iam_audit(iam, endpoint, "reader")
    assert records[0]["action"] == "kafka:DeleteCluster"
    assert records[0]["resource"] == arn
    assert records[0]["decision"] == "ImplicitDeny"
    assert records[0]["reason"] == "no identity-based policy allows the action"


def iam_audit(iam: Any, endpoint: str, user: str) -> list[dict[str, Any]]:
    import httpx
    from botocore.credentials import Credentials

    from steward.client.signing import SigV4HttpxAuth

    admin = iam._request_signer._credentials
    auth = SigV4HttpxAuth(Credentials(admin.access_key, admin.secret_key), "us-east-1")
    answer = httpx.get(
        f"{endpoint}/steward/v1/iam/audit",
        params={"principal": f"arn:aws:iam::{ACCOUNT}:user/{user}"},
        auth=auth,
    )
    answer.raise_for_status()
    return list(answer.json()["records"])


def test_an_explicit_deny_beats_any_allow(iam: Any, endpoint: str) -> None:
    document = policy(
        allow("kafka:*"), deny("kafka:DeleteCluster", "arn:aws:kafka:*:*:cluster/orders/*")
    )
    ids = user_with(iam, endpoint, "denied", document)
    kafka = client(endpoint, "kafka", ids["key_id"], ids["secret"])
    refused = error_of(kafka.delete_cluster, ClusterArn=CLUSTER)
    assert refused["Code"] == "ForbiddenException"
    assert "with an explicit deny in an identity-based policy" in refused["Message"]
    assert "statement 1 of inline policy main of user denied" in refused["Message"]
    other = CLUSTER.replace("orders", "billing")
    assert error_of(kafka.delete_cluster, ClusterArn=other)["Code"] == "NotFoundException"


def test_wildcards_in_actions_ignore_case_and_resources_match_arns(iam: Any, endpoint: str) -> None:
    document = policy(allow("KAFKA:describecluster*", "arn:aws:kafka:us-east-1:*:cluster/ord?rs/*"))
    ids = user_with(iam, endpoint, "wild", document)
    kafka = client(endpoint, "kafka", ids["key_id"], ids["secret"])
    assert error_of(kafka.describe_cluster_v2, ClusterArn=CLUSTER)["Code"] == "NotFoundException"
    other = CLUSTER.replace("orders", "billing")
    assert error_of(kafka.describe_cluster_v2, ClusterArn=other)["Code"] == "ForbiddenException"
    assert error_of(kafka.list_clusters_v2)["Code"] == "ForbiddenException"


def test_managed_policies_attach_and_detach(iam: Any, endpoint: str) -> None:
    made = iam.create_policy(PolicyName="list-only", PolicyDocument=policy(allow("kafka:List*")))
    arn = made["Policy"]["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/list-only"
    ids = user_with(iam, endpoint, "managed", None)
    kafka = client(endpoint, "kafka", ids["key_id"], ids["secret"])
    assert error_of(kafka.list_clusters_v2)["Code"] == "ForbiddenException"
    iam.attach_user_policy(UserName="managed", PolicyArn=arn)
    assert "ClusterInfoList" in kafka.list_clusters_v2()
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["Document"]["Statement"][0]["Action"] == "kafka:List*"
    assert error_of(iam.delete_policy, PolicyArn=arn)["Code"] == "DeleteConflict"
    iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=policy(allow("kafka:Describe*")), SetAsDefault=True
    )
    assert error_of(kafka.list_clusters_v2)["Code"] == "ForbiddenException"
    iam.detach_user_policy(UserName="managed", PolicyArn=arn)
    assert iam.list_attached_user_policies(UserName="managed")["AttachedPolicies"] == []


def test_malformed_documents_get_iams_error(iam: Any) -> None:
    iam.create_user(UserName="malformed")
    for document in (
        "{not json",
        policy({"Effect": "Perhaps", "Action": "*", "Resource": "*"}),
        policy({"Effect": "Allow", "Resource": "*"}),
        policy(allow("*", Condition={"StringTeleports": {"aws:username": "x"}})),
        policy(allow("kafka-cluster:*", Condition={"Bool": {"aws:SecureTransport": "true"}})),
    ):
        refused = error_of(
            iam.put_user_policy, UserName="malformed", PolicyName="p", PolicyDocument=document
        )
        assert refused["Code"] == "MalformedPolicyDocument", document


def test_conditions_on_context_keys(iam: Any, endpoint: str) -> None:
    document = policy(
        allow("kafka:List*", Condition={"StringEquals": {"aws:username": "cond"}}),
        allow("kafka:Describe*", Condition={"Bool": {"aws:SecureTransport": "true"}}),
        allow(
            "kafka:GetBootstrapBrokers", Condition={"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}
        ),
        deny(
            "kafka:ListNodes",
            Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        ),
    )
    ids = user_with(iam, endpoint, "cond", document)
    kafka = client(endpoint, "kafka", ids["key_id"], ids["secret"])
    assert "ClusterInfoList" in kafka.list_clusters_v2()
    assert error_of(kafka.describe_cluster_v2, ClusterArn=CLUSTER)["Code"] == "ForbiddenException"
    assert error_of(kafka.get_bootstrap_brokers, ClusterArn=CLUSTER)["Code"] == "NotFoundException"
    assert error_of(kafka.list_nodes, ClusterArn=CLUSTER)["Code"] == "ForbiddenException"


def test_resource_tags_in_conditions(iam: Any, endpoint: str, admin_key: NewAccessKey) -> None:
    admin = client(endpoint, "kafka", admin_key.access_key_id, admin_key.secret_access_key)
    tagged = admin.list_clusters_v2(ClusterNameFilter="kept")["ClusterInfoList"][0]["ClusterArn"]
    document = policy(
        allow(
            "kafka:DescribeCluster",
            Condition={"StringEquals": {"aws:ResourceTag/team": "payments"}},
        )
    )
    ids = user_with(iam, endpoint, "tagged", document)
    kafka = client(endpoint, "kafka", ids["key_id"], ids["secret"])
    assert kafka.describe_cluster(ClusterArn=tagged)["ClusterInfo"]["Tags"] == {"team": "payments"}
    admin.tag_resource(ResourceArn=tagged, Tags={"team": "billing"})
    try:
        assert error_of(kafka.describe_cluster, ClusterArn=tagged)["Code"] == "ForbiddenException"
    finally:
        admin.tag_resource(ResourceArn=tagged, Tags={"team": "payments"})


def test_inactive_and_deleted_keys_are_refused(iam: Any, endpoint: str) -> None:
    ids = user_with(iam, endpoint, "rotating", policy(allow("kafka:*")))
    kafka = client(endpoint, "kafka", ids["key_id"], ids["secret"])
    kafka.list_clusters_v2()
    iam.update_access_key(UserName="rotating", AccessKeyId=ids["key_id"], Status="Inactive")
    assert error_of(kafka.list_clusters_v2)["Code"] == "UnauthorizedException"
    iam.update_access_key(UserName="rotating", AccessKeyId=ids["key_id"], Status="Active")
    kafka.list_clusters_v2()
    last = iam.get_access_key_last_used(AccessKeyId=ids["key_id"])
    assert last["UserName"] == "rotating" and "LastUsedDate" in last["AccessKeyLastUsed"]
    iam.delete_access_key(UserName="rotating", AccessKeyId=ids["key_id"])
    assert error_of(kafka.list_clusters_v2)["Code"] == "UnauthorizedException"


def test_iam_and_sts_refuse_bad_signatures_with_their_codes(endpoint: str) -> None:
    unknown = client(endpoint, "sts", "STWNOSUCHKEY000000000", "x" * 40)
    assert error_of(unknown.get_caller_identity)["Code"] == "InvalidClientTokenId"


def test_other_services_refuse_in_their_own_shape(iam: Any, endpoint: str) -> None:
    ids = user_with(iam, endpoint, "nothing", None)
    own_iam = client(endpoint, "iam", ids["key_id"], ids["secret"])
    refused = error_of(own_iam.list_users)
    assert refused["Code"] == "AccessDenied" and refused["Status"] == 403
    assert "iam:ListUsers" in refused["Message"]
    sm = client(endpoint, "secretsmanager", ids["key_id"], ids["secret"])
    assert error_of(sm.list_secrets)["Code"] == "AccessDeniedException"
    pca = client(endpoint, "acm-pca", ids["key_id"], ids["secret"])
    assert error_of(pca.list_certificate_authorities)["Code"] == "AccessDeniedException"
    sts = client(endpoint, "sts", ids["key_id"], ids["secret"])
    assert sts.get_caller_identity()["Arn"].endswith(":user/nothing")  # needs no permission


def test_assume_role_gives_temporary_credentials_that_expire(
    iam: Any, endpoint: str, service: ClusterService, verifier: SigV4Verifier
) -> None:
    ids = user_with(iam, endpoint, "assumer", policy(allow("sts:AssumeRole")))
    trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/assumer"},
            "Action": "sts:AssumeRole",
        }
    )
    role = iam.create_role(RoleName="operator", AssumeRolePolicyDocument=trust)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    iam.put_role_policy(
        RoleName="operator", PolicyName="ops", PolicyDocument=policy(allow("kafka:List*"))
    )
    sts = client(endpoint, "sts", ids["key_id"], ids["secret"])
    made = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="night-shift", DurationSeconds=900)
    credentials = made["Credentials"]
    assert made["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/operator/night-shift"
    )
    as_role = client(
        endpoint,
        "kafka",
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
    )
    assert "ClusterInfoList" in as_role.list_clusters_v2()
    refused = error_of(as_role.delete_cluster, ClusterArn=CLUSTER)
    assert "assumed-role/operator/night-shift" in refused["Message"]
    role_sts = client(
        endpoint,
        "sts",
        credentials["AccessKeyId"],
        credentials["SecretAccessKey"],
        credentials["SessionToken"],
    )
    assert role_sts.get_caller_identity()["Arn"].endswith("assumed-role/operator/night-shift")
    without_token = client(
        endpoint, "kafka", credentials["AccessKeyId"], credentials["SecretAccessKey"]
    )
    assert error_of(without_token.list_clusters_v2)["Code"] == "UnauthorizedException"
    identities = {i.access_key_id: i for i in service.iam.signing_identities()}
    assert identities[credentials["AccessKeyId"]].session_token == credentials["SessionToken"]
    later = lambda: utcnow() + timedelta(seconds=901)  # noqa: E731
    service.iam.clock = verifier.clock = later
    try:
        expired = error_of(as_role.list_clusters_v2)
        assert expired["Code"] == "ForbiddenException"
        assert "expired" in expired["Message"]
        assert error_of(role_sts.get_caller_identity)["Code"] == "ExpiredToken"
        assert credentials["AccessKeyId"] not in {
            i.access_key_id for i in service.iam.signing_identities()
        }
    finally:
        service.iam.clock = verifier.clock = utcnow


def test_a_trust_policy_that_does_not_name_the_caller_refuses(iam: Any, endpoint: str) -> None:
    ids = user_with(iam, endpoint, "stranger", policy(allow("sts:AssumeRole")))
    trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/someone-else"},
            "Action": "sts:AssumeRole",
        }
    )
    arn = iam.create_role(RoleName="guarded", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    sts = client(endpoint, "sts", ids["key_id"], ids["secret"])
    refused = error_of(sts.assume_role, RoleArn=arn, RoleSessionName="try")
    assert refused["Code"] == "AccessDenied"
    assert "trust policy" in refused["Message"]
    no_policy = user_with(iam, endpoint, "unallowed", None)
    sts = client(endpoint, "sts", no_policy["key_id"], no_policy["secret"])
    assert (
        "no identity-based policy allows"
        in error_of(sts.assume_role, RoleArn=arn, RoleSessionName="try")["Message"]
    )


def test_cloudwatch_operations_are_decided_by_the_callers_policies(iam: Any, endpoint: str) -> None:
    ids = user_with(iam, endpoint, "watcher", policy(allow("cloudwatch:Describe*")))
    cloudwatch = client(endpoint, "cloudwatch", ids["key_id"], ids["secret"])
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
    refused = error_of(
        cloudwatch.put_metric_alarm,
        AlarmName="disk",
        Namespace="AWS/Kafka",
        MetricName="KafkaDataLogsDiskUsed",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    assert refused["Status"] == 403
    assert refused["Code"] == "AccessDenied"
    assert "cloudwatch:PutMetricAlarm" in refused["Message"]
    assert "alarm:disk" in refused["Message"]
