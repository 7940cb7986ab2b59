"""IAM on a real Steward, through the AWS CLI (`aws iam`, `aws sts`, `aws kafka`) and the steward
command: the key Steward starts with is the administrator's; a user made with `aws iam` and given
a policy without kafka:DeleteCluster can list clusters but not delete one, with MSK's
ForbiddenException naming the user, the action and the resource; `steward iam audit` shows the
refusal and why; an assumed role's credentials work with the AWS CLI. No cluster is needed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import REGION, Steward

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
ACCOUNT_CLUSTER = "cluster/orders/0f0f0f0f-0000-4000-8000-000000000000-1"


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def aws(steward: Steward, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "aws"), *args, "--endpoint-url", steward.endpoint]
    return run([*command, "--region", REGION, "--output", "json"], env)


def ok(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def as_key(steward: Steward, key_id: str, secret: str, token: str | None = None) -> dict[str, str]:
    env = {**steward.env, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret}
    if token:
        env["AWS_SESSION_TOKEN"] = token
    return env


def test_the_aws_cli_manages_users_whose_policies_decide(steward: Steward, tmp_path: Path) -> None:
    admin = steward.env
    identity = ok(aws(steward, admin, "sts", "get-caller-identity"))
    assert identity["Arn"].endswith(":user/steward-admin")
    account = identity["Account"]
    cluster = f"arn:aws:kafka:{REGION}:{account}:{ACCOUNT_CLUSTER}"

    ok(aws(steward, admin, "iam", "create-user", "--user-name", "reader"))
    document = tmp_path / "reader.json"
    document.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["kafka:List*", "kafka:Describe*"],
                        "Resource": "*",
                    }
                ],
            }
        )
    )
    ok(
        aws(
            steward,
            admin,
            "iam",
            "put-user-policy",
            "--user-name",
            "reader",
            "--policy-name",
            "read",
            "--policy-document",
            f"file://{document}",
        )
    )
    key = ok(aws(steward, admin, "iam", "create-access-key", "--user-name", "reader"))["AccessKey"]
    reader = as_key(steward, key["AccessKeyId"], key["SecretAccessKey"])

    assert ok(aws(steward, reader, "kafka", "list-clusters-v2"))["ClusterInfoList"] == []
    refused = aws(steward, reader, "kafka", "delete-cluster", "--cluster-arn", cluster)
    assert refused.returncode != 0
    assert "ForbiddenException" in refused.stderr
    assert f"User: arn:aws:iam::{account}:user/reader is not authorized to perform: " in (
        refused.stderr
    )
    assert "kafka:DeleteCluster" in refused.stderr
    denied_iam = aws(steward, reader, "iam", "list-users")
    assert "AccessDenied" in denied_iam.stderr

    audit = run(
        [
            str(BIN / "steward"),
            "-o",
            "json",
            "iam",
            "audit",
            "--principal",
            f"arn:aws:iam::{account}:user/reader",
            "--action",
            "kafka:DeleteCluster",
        ],
        admin,
    )
    assert audit.returncode == 0, audit.stderr
    records = json.loads(audit.stdout)["records"]
    assert records[0]["resource"] == cluster
    assert records[0]["reason"] == "no identity-based policy allows the action"

    listed = run([str(BIN / "steward"), "-o", "json", "iam", "user", "list"], admin)
    assert {"steward-admin", "reader"} <= {
        u["UserName"] for u in json.loads(listed.stdout)["Users"]
    }
    keys = run([str(BIN / "steward"), "-o", "json", "access-key", "list"], admin)
    by_id = {k["AccessKeyId"]: k for k in json.loads(keys.stdout)["AccessKeys"]}
    assert by_id[key["AccessKeyId"]]["UserName"] == "reader"


def test_an_assumed_roles_credentials_work_with_the_aws_cli(
    steward: Steward, tmp_path: Path
) -> None:
    admin = steward.env
    account = ok(aws(steward, admin, "sts", "get-caller-identity"))["Account"]
    trust = tmp_path / "trust.json"
    trust.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        )
    )
    role = ok(
        aws(
            steward,
            admin,
            "iam",
            "create-role",
            "--role-name",
            "lister",
            "--assume-role-policy-document",
            f"file://{trust}",
        )
    )["Role"]
    ok(
        aws(
            steward,
            admin,
            "iam",
            "attach-role-policy",
            "--role-name",
            "lister",
            "--policy-arn",
            "arn:aws:iam::aws:policy/AmazonMSKReadOnlyAccess",
        )
    )
    made = ok(
        aws(
            steward,
            admin,
            "sts",
            "assume-role",
            "--role-arn",
            role["Arn"],
            "--role-session-name",
            "cli",
        )
    )["Credentials"]
    as_role = as_key(steward, made["AccessKeyId"], made["SecretAccessKey"], made["SessionToken"])
    assert ok(aws(steward, as_role, "kafka", "list-clusters-v2"))["ClusterInfoList"] == []
    caller = ok(aws(steward, as_role, "sts", "get-caller-identity"))
    assert caller["Arn"] == f"arn:aws:sts::{account}:assumed-role/lister/cli"
    refused = aws(
        steward,
        as_role,
        "kafka",
        "create-configuration",
        "--name",
        "x",
        "--server-properties",
        "fileb:///dev/null",
    )
    assert "ForbiddenException" in refused.stderr
