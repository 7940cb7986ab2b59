"""The Lambda-compatible service's use cases: functions (their code and configuration, and
invoking them) and event-source mappings from a cluster's topics to a function. They write the
desired state to the store; the pollers (`steward.functions.pollers`) and the code builder act
on it in the background."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from steward.functions import code as function_code
from steward.functions.code import CodeDirectory
from steward.functions.connection import ClusterConnections, check_source_access
from steward.functions.errors import (
    InvalidParameterValueException,
    InvalidRequestContentException,
    RequestTooLargeException,
    ResourceConflictException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from steward.functions.filters import parse_patterns
from steward.functions.runtime import (
    HTTP_RUNTIMES,
    HTTP_URL_VARIABLE,
    PYTHON_RUNTIMES,
    FunctionSpec,
    Invoker,
    Outcome,
    invoker_for,
)
from steward.functions.store import FunctionRecord, FunctionRecords, MappingRecord, MappingRecords

log = logging.getLogger(__name__)

NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128
MAX_TIMEOUT = 900
MAX_PAYLOAD = 6 * 1024 * 1024
MAX_EVENT_PAYLOAD = 1024 * 1024
ASYNC_RETRIES = 2
"""Lambda retries an asynchronous (Event) invocation that fails twice."""
STARTING_POSITIONS = ("LATEST", "TRIM_HORIZON", "AT_TIMESTAMP")
DEFAULT_BATCH_SIZE = 100
KAFKA_DESTINATION = "kafka://"

PENDING, ACTIVE, FAILED = "Pending", "Active", "Failed"
CREATING, ENABLING, ENABLED = "Creating", "Enabling", "Enabled"
DISABLING, DISABLED, UPDATING, DELETING = "Disabling", "Disabled", "Updating", "Deleting"


def _now() -> datetime:
    return datetime.now(UTC)


def lambda_timestamp(moment: datetime) -> str:
    """Lambda's LastModified of a function: `2024-01-01T12:00:00.000+0000`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


@dataclass(frozen=True)
class Invocation:
    status: int
    outcome: Outcome | None
    """None for an Event invocation (queued)."""


class Functions:
    def __init__(
        self,
        engine: Engine,
        home: Path,
        *,
        region: str,
        account_id: str,
        connections: ClusterConnections | None = None,
    ) -> None:
        self.functions = FunctionRecords(engine)
        self.mappings = MappingRecords(engine)
        self.home = home
        self.region = region
        self.account_id = account_id
        self.connections = connections
        self.wake_builder: Callable[[], None] = lambda: None
        self.wake_pollers: Callable[[], None] = lambda: None
        self._invokers: dict[str, tuple[str, Invoker]] = {}
        self._invokers_lock = threading.Lock()
        self._async = ThreadPoolExecutor(max_workers=4, thread_name_prefix="function-event")

    def close(self) -> None:
        self._async.shutdown(wait=False, cancel_futures=True)
        with self._invokers_lock:
            for _revision, invoker in self._invokers.values():
                invoker.close()
            self._invokers.clear()

    # --- names ----------------------------------------------------------------------------------
    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"

    def mapping_arn(self, mapping_uuid: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:event-source-mapping:{mapping_uuid}"

    @staticmethod
    def name_of(reference: str) -> str:
        """A function's name from its name, ARN or partial ARN (`123456789012:function:f`);
        a qualifier other than $LATEST is refused, as Steward keeps no versions."""
        parts = reference.split(":")
        if "function" in parts:
            parts = parts[parts.index("function") + 1 :]
        name = parts[0]
        if len(parts) > 1 and parts[1] != "$LATEST":
            raise ResourceNotFoundException(
                f"Function not found: {reference} (Steward keeps $LATEST only)"
            )
        return name

    def code_directory(self, record: FunctionRecord) -> CodeDirectory:
        return CodeDirectory(self.home, record.name, str(record.config["RevisionId"]))

    # --- functions ------------------------------------------------------------------------------
    def create_function(
        self, name: str, settings: dict[str, Any], zip_file: bytes | None
    ) -> FunctionRecord:
        if not NAME.match(name):
            raise InvalidParameterValueException(
                f"FunctionName {name!r}: 1 to 64 letters, digits, hyphens or underscores."
            )
        if self.functions.get(name) is not None:
            raise ResourceConflictException(f"Function already exist: {name}")
        config = self._configuration(
            {
                "Description": "",
                "Timeout": DEFAULT_TIMEOUT,
                "MemorySize": DEFAULT_MEMORY,
                "Environment": {"Variables": {}},
                "Handler": None,
                "Runtime": None,
            },
            settings,
        )
        config["Role"] = settings.get("Role")
        zip_file = self._check_code(config, zip_file)
        record = FunctionRecord(
            name=name,
            config=config,
            state=PENDING,
            last_modified=_now(),
            code_zip=zip_file,
        )
        self._new_revision(record)
        self.functions.add(record)
        self._prepare(record)
        return self.get_function(name)

    def _configuration(self, config: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        merged = dict(config)
        for key in ("Description", "Handler", "Runtime", "Role"):
            if changes.get(key) is not None:
                merged[key] = changes[key]
        if changes.get("Timeout") is not None:
            merged["Timeout"] = _bounded(changes["Timeout"], "Timeout", 1, MAX_TIMEOUT)
        if changes.get("MemorySize") is not None:
            merged["MemorySize"] = _bounded(changes["MemorySize"], "MemorySize", 128, 10240)
        if changes.get("Environment") is not None:
            variables = (changes["Environment"] or {}).get("Variables") or {}
            if not isinstance(variables, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
            ):
                raise InvalidParameterValueException("Environment.Variables must map strings.")
            merged["Environment"] = {"Variables": dict(variables)}
        runtime = merged.get("Runtime")
        if runtime not in PYTHON_RUNTIMES + HTTP_RUNTIMES:
            raise InvalidParameterValueException(
                f"The runtime parameter of {runtime} is not supported by Steward: give one of "
                f"{', '.join(PYTHON_RUNTIMES)}, or {HTTP_RUNTIMES[-1]} with the environment "
                f"variable {HTTP_URL_VARIABLE} for an HTTP function."
            )
        if runtime in HTTP_RUNTIMES:
            url = merged["Environment"]["Variables"].get(HTTP_URL_VARIABLE, "")
            if not url.startswith(("http://", "https://")):
                raise InvalidParameterValueException(
                    f"A {runtime} function is an HTTP one: its Environment.Variables needs "
                    f"{HTTP_URL_VARIABLE}, an http:// or https:// URL."
                )
        elif not merged.get("Handler"):
            raise InvalidParameterValueException("A Python function needs a Handler.")
        return merged

    def _check_code(self, config: dict[str, Any], zip_file: bytes | None) -> bytes | None:
        if config["Runtime"] in HTTP_RUNTIMES:
            if zip_file:
                function_code.open_zip(zip_file)
            return zip_file
        if not zip_file:
            raise InvalidParameterValueException(
                "Code.ZipFile is required: Steward takes a function's code as a ZIP."
            )
        function_code.check_handler(zip_file, config["Handler"])
        return zip_file

    def _new_revision(self, record: FunctionRecord) -> None:
        data = record.code_zip or b""
        record.config["RevisionId"] = str(uuid.uuid4())
        record.config["CodeSha256"] = function_code.code_sha256(data)
        record.config["CodeSize"] = len(data)
        record.last_modified = _now()

    def _prepare(self, record: FunctionRecord) -> None:
        """Unpack the code now; a virtualenv is left to the builder (Pending until it is)."""
        if record.config["Runtime"] in HTTP_RUNTIMES or not record.code_zip:
            self.functions.set_state(record.name, ACTIVE, None)
            return
        directory = self.code_directory(record)
        directory.unpack(record.code_zip)
        if function_code.needs_packages(record.code_zip):
            self.functions.set_state(record.name, PENDING, "The function is being created.")
            self.wake_builder()
        else:
            self.functions.set_state(record.name, ACTIVE, None)

    def build_pending(self) -> None:
        """One pass of the code builder: every Pending function's virtualenv, from PyPI. A
        restart carries on with the functions still Pending."""
        for summary in self.functions.list():
            if summary.state != PENDING:
                continue
            record = self.functions.get(summary.name, with_code=True)
            if record is None or record.code_zip is None:
                continue
            directory = self.code_directory(record)
            try:
                directory.unpack(record.code_zip)
                directory.build_venv()
            except Exception as error:
                log.warning(
                    "function %s: its packages could not be installed: %s", record.name, error
                )
                self.functions.set_state(record.name, FAILED, f"pip install failed: {error}")
                continue
            current = self.functions.get(record.name)
            if current is not None and current.config["RevisionId"] == record.config["RevisionId"]:
                self.functions.set_state(record.name, ACTIVE, None)
                self.wake_pollers()

    def get_function(self, reference: str) -> FunctionRecord:
        record = self.functions.get(self.name_of(reference))
        if record is None:
            raise ResourceNotFoundException(
                f"Function not found: {self.function_arn(self.name_of(reference))}"
            )
        return record

    def list_functions(self) -> list[FunctionRecord]:
        return self.functions.list()

    def update_code(self, reference: str, zip_file: bytes | None) -> FunctionRecord:
        record = self._with_code(reference)
        if record.state == PENDING:  # its virtualenv is being built
            raise ResourceConflictException(
                "The operation cannot be performed at this time. An update is in progress for "
                f"resource: {self.function_arn(record.name)}"
            )
        record.code_zip = self._check_code(record.config, zip_file)
        self._new_revision(record)
        self.functions.save(record, with_code=True)
        self._prepare(record)
        self.wake_pollers()
        return self.get_function(record.name)

    def update_configuration(self, reference: str, changes: dict[str, Any]) -> FunctionRecord:
        record = self._with_code(reference)
        revision = changes.get("RevisionId")
        if revision is not None and revision != record.config["RevisionId"]:
            raise ResourceConflictException(
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id"
            )
        record.config = self._configuration(record.config, changes)
        if "Handler" in changes or "Runtime" in changes:
            self._check_code(record.config, record.code_zip)
        record.config["RevisionId"] = str(uuid.uuid4())
        record.last_modified = _now()
        self.functions.save(record)
        self._prepare(record)
        self.wake_pollers()
        return self.get_function(record.name)

    def _with_code(self, reference: str) -> FunctionRecord:
        record = self.functions.get(self.name_of(reference), with_code=True)
        if record is None:
            raise ResourceNotFoundException(
                f"Function not found: {self.function_arn(self.name_of(reference))}"
            )
        return record

    def delete_function(self, reference: str) -> None:
        record = self.get_function(reference)
        self.functions.remove(record.name)
        with self._invokers_lock:
            held = self._invokers.pop(record.name, None)
        if held is not None:
            held[1].close()
        self.code_directory(record).remove_function()
        self.wake_pollers()

    # --- running --------------------------------------------------------------------------------
    def spec(self, record: FunctionRecord) -> FunctionSpec:
        config = record.config
        variables = dict(config["Environment"]["Variables"])
        directory = self.code_directory(record)
        return FunctionSpec(
            name=record.name,
            arn=self.function_arn(record.name),
            revision=str(config["RevisionId"]),
            handler=str(config.get("Handler") or ""),
            timeout=float(config["Timeout"]),
            memory_mib=int(config["MemorySize"]),
            environment=variables,
            code_dir=str(directory.code),
            log_path=str(directory.log),
            python=directory.python,
            region=self.region,
            url=variables.get(HTTP_URL_VARIABLE) if config["Runtime"] in HTTP_RUNTIMES else None,
        )

    def runnable(self, reference: str) -> FunctionRecord:
        record = self.get_function(reference)
        if record.state != ACTIVE:
            raise ResourceConflictException(
                "The operation cannot be performed at this time. The function is currently in "
                f"the following state: {record.state}"
            )
        return record

    def invoke(
        self,
        reference: str,
        payload: bytes,
        invocation_type: str = "RequestResponse",
        client_context: str | None = None,
    ) -> Invocation:
        record = self.runnable(reference)
        limit = MAX_EVENT_PAYLOAD if invocation_type == "Event" else MAX_PAYLOAD
        if len(payload) > limit:
            raise RequestTooLargeException(
                f"Request must be smaller than {limit} bytes for the {invocation_type} invocation"
            )
        try:
            event = json.loads(payload) if payload.strip() else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InvalidRequestContentException(
                "Could not parse request body into json: the payload is not JSON"
            ) from None
        if client_context is not None:
            try:
                client_context = base64.b64decode(client_context).decode()
            except ValueError:
                client_context = None
        if invocation_type == "DryRun":
            return Invocation(204, None)
        if invocation_type == "Event":
            self._async.submit(self._invoke_async, record, event, client_context)
            return Invocation(202, None)
        if invocation_type != "RequestResponse":
            raise InvalidParameterValueException(
                f"InvocationType {invocation_type}: give RequestResponse, Event or DryRun."
            )
        return Invocation(200, self._invoker(record).invoke(event, client_context))

    def _invoke_async(self, record: FunctionRecord, event: Any, context: str | None) -> None:
        for attempt in range(1 + ASYNC_RETRIES):
            try:
                outcome = self._invoker(record).invoke(event, context)
            except Exception:
                log.exception("function %s: an Event invocation failed to run", record.name)
                return
            if not outcome.failed:
                return
            log.info("function %s: Event invocation failed (attempt %d)", record.name, attempt + 1)
            time.sleep(min(60.0, 1.0 * 2**attempt))

    def _invoker(self, record: FunctionRecord) -> Invoker:
        revision = str(record.config["RevisionId"])
        with self._invokers_lock:
            held = self._invokers.get(record.name)
            if held is not None and held[0] == revision:
                return held[1]
            if held is not None:
                held[1].close()
            invoker = invoker_for(self.spec(record))
            self._invokers[record.name] = (revision, invoker)
            return invoker

    # --- event-source mappings ------------------------------------------------------------------
    def create_mapping(self, request: dict[str, Any]) -> MappingRecord:
        function = self.get_function(_required(request, "FunctionName"))
        source = _required(request, "EventSourceArn")
        self._check_cluster(source)
        topics = request.get("Topics")
        if not isinstance(topics, list) or len(topics) != 1 or not isinstance(topics[0], str):
            raise InvalidParameterValueException("Topics must name exactly one topic.")
        position = request.get("StartingPosition")
        if position not in STARTING_POSITIONS:
            raise InvalidParameterValueException(
                f"StartingPosition must be one of {', '.join(STARTING_POSITIONS)}."
            )
        timestamp = request.get("StartingPositionTimestamp")
        if position == "AT_TIMESTAMP" and timestamp is None:
            raise InvalidParameterValueException(
                "StartingPositionTimestamp is required with StartingPosition AT_TIMESTAMP."
            )
        for existing in self.mappings.list():
            same = existing.config
            if (
                existing.function_name == function.name
                and same["EventSourceArn"] == source
                and same["Topics"] == topics
                and existing.state != DELETING
            ):
                raise ResourceConflictException(
                    f"An event source mapping with event source ({source}), function "
                    f"({self.function_arn(function.name)}), topics ({topics[0]}) already "
                    f"exists. Please update or delete the existing mapping with UUID "
                    f"{existing.uuid}"
                )
        mapping_uuid = str(uuid.uuid4())
        group = (request.get("AmazonManagedKafkaEventSourceConfig") or {}).get("ConsumerGroupId")
        config: dict[str, Any] = {
            "EventSourceArn": source,
            "Topics": topics,
            "StartingPosition": position,
            "AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId": group or mapping_uuid},
            "BatchSize": DEFAULT_BATCH_SIZE,
            "MaximumRetryAttempts": -1,
            "Enabled": True,
        }
        if timestamp is not None:
            config["StartingPositionTimestamp"] = float(timestamp)
        config.update(self._mapping_changes(request))
        enabled = config.pop("Enabled")
        config["Enabled"] = bool(enabled)
        record = MappingRecord(
            uuid=mapping_uuid,
            function_name=function.name,
            config=config,
            state=CREATING,
            state_reason="USER_INITIATED",
            last_processing_result="No records processed",
            last_modified=_now(),
        )
        self.mappings.add(record)
        self.wake_pollers()
        return record

    def _check_cluster(self, arn: str) -> None:
        if not arn.startswith("arn:aws:kafka:") or ":cluster/" not in arn:
            raise InvalidParameterValueException(
                f"EventSourceArn {arn}: Steward's event sources are its MSK clusters' ARNs."
            )
        if self.connections is not None and self.connections.cluster(arn) is None:
            raise InvalidParameterValueException(f"Cluster {arn} does not exist on this Steward.")

    def _mapping_changes(self, request: dict[str, Any]) -> dict[str, Any]:
        """The members a create or an update may set, checked."""
        changes: dict[str, Any] = {}
        if request.get("BatchSize") is not None:
            changes["BatchSize"] = _bounded(request["BatchSize"], "BatchSize", 1, 10000)
        if request.get("MaximumBatchingWindowInSeconds") is not None:
            changes["MaximumBatchingWindowInSeconds"] = _bounded(
                request["MaximumBatchingWindowInSeconds"], "MaximumBatchingWindowInSeconds", 0, 300
            )
        if request.get("MaximumRetryAttempts") is not None:
            changes["MaximumRetryAttempts"] = _bounded(
                request["MaximumRetryAttempts"], "MaximumRetryAttempts", -1, 10000
            )
        if request.get("Enabled") is not None:
            changes["Enabled"] = bool(request["Enabled"])
        if "FilterCriteria" in request and request["FilterCriteria"] is not None:
            parse_patterns(request["FilterCriteria"])
            changes["FilterCriteria"] = request["FilterCriteria"]
        if request.get("DestinationConfig") is not None:
            destination = request["DestinationConfig"]
            target = (destination.get("OnFailure") or {}).get("Destination")
            if target:
                _failure_topic(target)
            changes["DestinationConfig"] = destination
        if request.get("SourceAccessConfigurations") is not None:
            changes["SourceAccessConfigurations"] = check_source_access(
                request["SourceAccessConfigurations"]
            )
        return changes

    def get_mapping(self, mapping_uuid: str) -> MappingRecord:
        record = self.mappings.get(mapping_uuid)
        if record is None:
            raise ResourceNotFoundException(
                f"The resource you requested does not exist. (Service: Lambda, Status Code: 404, "
                f"Request ID: {uuid.uuid4()})"
            )
        return record

    def list_mappings(
        self, function: str | None = None, source: str | None = None
    ) -> list[MappingRecord]:
        found = self.mappings.list()
        if function is not None:
            name = self.name_of(function)
            found = [m for m in found if m.function_name == name]
        if source is not None:
            found = [m for m in found if m.config["EventSourceArn"] == source]
        return found

    def update_mapping(self, mapping_uuid: str, request: dict[str, Any]) -> MappingRecord:
        record = self.get_mapping(mapping_uuid)
        if record.state in (DELETING, CREATING, UPDATING):
            raise ResourceInUseException(
                f"Cannot update the event source mapping because it is in use. The mapping "
                f"is {record.state}."
            )
        if request.get("FunctionName"):
            record.function_name = self.get_function(request["FunctionName"]).name
        changes = self._mapping_changes(request)
        was_enabled = bool(record.config.get("Enabled", True))
        record.config.update(changes)
        enabled = bool(record.config.get("Enabled", True))
        if enabled and not was_enabled:
            record.state = ENABLING
        elif was_enabled and not enabled:
            record.state = DISABLING
        else:
            record.state = UPDATING
        record.state_reason = "USER_INITIATED"
        record.last_modified = _now()
        self.mappings.save(record)
        self.wake_pollers()
        return record

    def delete_mapping(self, mapping_uuid: str) -> MappingRecord:
        record = self.get_mapping(mapping_uuid)
        record.state = DELETING
        record.state_reason = "USER_INITIATED"
        self.mappings.set_progress(record.uuid, state=DELETING, reason="USER_INITIATED")
        self.wake_pollers()
        return record


def failure_topic(config: dict[str, Any]) -> str | None:
    target = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    return _failure_topic(target) if target else None


def _failure_topic(target: str) -> str:
    """The topic of an on-failure destination: `kafka://<topic>` as Lambda takes for Kafka
    sources, or an MSK topic ARN (`arn:aws:kafka:...:topic/<cluster>/<uuid>/<topic>`) of the
    mapping's cluster."""
    if target.startswith(KAFKA_DESTINATION) and len(target) > len(KAFKA_DESTINATION):
        return target[len(KAFKA_DESTINATION) :]
    if target.startswith("arn:aws:kafka:") and ":topic/" in target:
        parts = target.split(":topic/", 1)[1].split("/")
        if len(parts) == 3 and parts[2]:
            return parts[2]
    raise InvalidParameterValueException(
        f"DestinationConfig.OnFailure.Destination {target}: for a Kafka event source give a "
        "topic of the cluster, kafka://<topic> or the topic's ARN."
    )


def _required(request: dict[str, Any], name: str) -> Any:
    value = request.get(name)
    if value is None or value == "":
        raise InvalidParameterValueException(f"{name} is required.")
    return value


def _bounded(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameterValueException(f"{name} must be an integer from {low} to {high}.")
    return value
