"""A function's MemorySize enforced on a real Steward, as a Lambda user sees it through boto3: a
function that allocates past its limit is killed and Invoke answers Lambda's `Unhandled`
`Runtime.OutOfMemory`, the next invocation works; one under its limit works. Where the host lets
Steward make memory cgroups, each warm worker is in a group of its own at MemorySize, and no
group is left once the function is deleted or the Steward stopped; elsewhere the worker's
address-space limit refuses the allocation and the answer is the same.

No cluster is needed: functions run on the control plane's host."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from steward.agent.memory_groups import MemoryGroups
from tests.integration.harness import REGION, Steward
from tests.unit.zips import zip_of

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/memory"
MIB = 1024 * 1024

ALLOCATE = """
def handler(event, context):
    block = bytearray(event["mib"] * 1024 * 1024)
    return {"mib": len(block) // (1024 * 1024), "limit": context.memory_limit_in_mb}
"""


@pytest.fixture(scope="module")
def functions(steward: Steward) -> Any:
    access_key_id, secret = steward.credentials()
    return boto3.client(
        "lambda",
        endpoint_url=steward.endpoint,
        region_name=REGION,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret,
    )


@pytest.fixture(scope="module")
def groups() -> MemoryGroups:
    """The host's memory groups as the Steward (a child of this process, in its cgroup) sees
    them."""
    return MemoryGroups.for_host()


def create(functions: Any, name: str, memory: int) -> None:
    functions.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_of({"app.py": ALLOCATE})},
        MemorySize=memory,
        Timeout=60,
    )


def invoke(functions: Any, name: str, mib: int) -> tuple[dict[str, Any], Any, str]:
    answer = functions.invoke(
        FunctionName=name, Payload=json.dumps({"mib": mib}).encode(), LogType="Tail"
    )
    log = base64.b64decode(answer["LogResult"]).decode()
    return answer, json.loads(answer["Payload"].read()), log


def worker_groups(groups: MemoryGroups, name: str) -> list[Path]:
    if groups.hierarchy is None or not groups.hierarchy.parent.is_dir():
        return []
    return sorted(groups.hierarchy.parent.glob(f"{name}-*"))


def test_a_function_past_its_memory_is_killed_and_the_next_invoke_works(
    functions: Any, groups: MemoryGroups
) -> None:
    create(functions, "hog", 128)
    answer, payload, _ = invoke(functions, "hog", 32)
    assert "FunctionError" not in answer and payload == {"mib": 32, "limit": "128"}
    if groups.enforced:
        [group] = worker_groups(groups, "hog")
        assert groups.hierarchy is not None
        limit = (group / groups.hierarchy.limit_file).read_text().strip()
        assert limit == str(128 * MIB)

    answer, payload, log = invoke(functions, "hog", 1024)
    assert answer["StatusCode"] == 200 and answer["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.OutOfMemory"
    if groups.enforced:
        assert payload["errorMessage"] == (
            f"RequestId: {payload['requestId']} Error: Runtime exited with error: signal: killed"
        )
        assert "Status: error\tError Type: Runtime.OutOfMemory" in log
        assert worker_groups(groups, "hog") == []  # the killed worker's group is gone

    answer, payload, log = invoke(functions, "hog", 16)
    assert "FunctionError" not in answer and payload["mib"] == 16
    if groups.enforced:
        assert "capped by cgroup v" in log  # a fresh worker says so first
        assert len(worker_groups(groups, "hog")) == 1
    functions.delete_function(FunctionName="hog")
    assert worker_groups(groups, "hog") == []


def test_a_function_under_its_memory_works_and_leaves_no_group_behind(
    functions: Any, groups: MemoryGroups, steward: Steward
) -> None:
    create(functions, "modest", 256)
    answer, payload, _ = invoke(functions, "modest", 160)
    assert "FunctionError" not in answer and payload == {"mib": 160, "limit": "256"}
    log = (steward.home / "functions" / "modest" / "function.log").read_text()
    expected = "capped by cgroup v" if groups.enforced else "capped by address space only"
    assert f"INIT_START Memory Size: 256 MB, {expected}" in log
    steward.stop()  # its workers and their groups end with it (the module's last test)
    assert worker_groups(groups, "modest") == []
