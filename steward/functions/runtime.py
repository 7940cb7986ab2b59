"""Running a function: in a warm worker process of its own on this host (`worker.py`, Lambda's
handler contract), or, for an HTTP function, by POSTing the event as JSON to its URL.

Both are bounded in time: a worker that does not answer within the function's Timeout is killed
(and a fresh one starts at the next invocation, as Lambda replaces a timed-out environment); an
HTTP call has the Timeout as its whole budget. One invocation runs at a time per invoker; callers
that want more keep more invokers.

A worker is bounded in memory too. Where the host lets Steward make memory cgroups
(`steward.agent.memory_groups`), each worker runs in a group of its own capped at the function's
MemorySize with no swap, as Lambda caps an execution environment: the kernel kills a worker that
needs more, the invocation answers Lambda's `Runtime.OutOfMemory`, and the next one gets a fresh
worker. The group goes with its worker. Elsewhere the worker caps its own address space
(RLIMIT_AS), a looser bound since it counts mappings rather than memory in use. Which of the two
applies is the first line a worker writes to the function's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from steward.agent.memory_groups import MemoryGroups

WORKER = Path(__file__).with_name("worker.py")
HTTP_URL_VARIABLE = "STEWARD_FUNCTION_URL"
"""The environment member that makes a function an HTTP one (with Runtime `provided.al2023` or
`provided`): its events are POSTed to this URL instead of run here."""
HTTP_RUNTIMES = ("provided", "provided.al2", "provided.al2023")
PYTHON_RUNTIMES = ("python3.11", "python3.12", "python3.13", "python3.14")
LOG_TAIL_BYTES = 4096
"""How much of the log an invocation with LogType=Tail gets back, as Lambda's 4 KB."""
MIB = 1024 * 1024
ADDRESS_SPACE_ALLOWANCE_MIB = 512
"""Address space the interpreter and its libraries map beyond what the code uses, where memory
is capped by RLIMIT_AS: it caps virtual memory, not the resident memory Lambda's MemorySize
counts."""
OUT_OF_MEMORY = "Runtime.OutOfMemory"

_host_memory_groups: MemoryGroups | None = None
_host_memory_groups_lock = threading.Lock()


def host_memory_groups() -> MemoryGroups:
    """This host's memory cgroups for function workers, looked for once per process."""
    global _host_memory_groups
    with _host_memory_groups_lock:
        if _host_memory_groups is None:
            _host_memory_groups = MemoryGroups.for_host()
            _host_memory_groups.remove_empty_groups()
        return _host_memory_groups


@dataclass(frozen=True)
class FunctionSpec:
    """What running a function takes, and nothing of the API: the poller processes get it as
    JSON."""

    name: str
    arn: str
    revision: str
    handler: str
    timeout: float
    memory_mib: int
    environment: dict[str, str]
    code_dir: str
    log_path: str
    python: str = sys.executable
    """The interpreter: Steward's, or the function's virtualenv's."""
    region: str = "us-east-1"
    url: str | None = None
    """For an HTTP function, where its events go."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FunctionSpec:
        return cls(**data)


@dataclass
class Outcome:
    """What an invocation gave: a JSON payload, and `function_error` ("Unhandled") when the code
    raised, timed out or could not start; `log_tail` is the end of its log output."""

    payload: bytes
    function_error: str | None = None
    log_tail: str = ""
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def failed(self) -> bool:
        return self.function_error is not None


def _error_payload(message: str, kind: str, request_id: str) -> bytes:
    return json.dumps(
        {"errorMessage": message, "errorType": kind, "requestId": request_id}
    ).encode()


class ProcessInvoker:
    """A function's warm worker on this host. Not thread-safe by itself: `invoke` holds a lock."""

    def __init__(self, spec: FunctionSpec, memory_groups: MemoryGroups | None = None) -> None:
        self.spec = spec
        self.memory_groups = memory_groups or host_memory_groups()
        self._group: str | None = None
        """The key of the running worker's memory cgroup, when it has one."""
        self._process: subprocess.Popen[bytes] | None = None
        self._answers: int | None = None
        self._buffer = b""
        self._lock = threading.Lock()

    def _environment(self) -> dict[str, str]:
        spec = self.spec
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "LAMBDA_TASK_ROOT": spec.code_dir,
            "_HANDLER": spec.handler,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_EXECUTION_ENV": "Steward_python",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mib),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": spec.revision,
            **spec.environment,
        }

    def _start(self) -> subprocess.Popen[bytes]:
        spec = self.spec
        read_end, write_end = os.pipe()
        Path(spec.log_path).parent.mkdir(parents=True, exist_ok=True)
        with open(spec.log_path, "ab") as log:
            process = subprocess.Popen(
                [
                    spec.python,
                    "-I",  # isolated: neither Steward's path nor the user's site-packages
                    str(WORKER),
                    spec.code_dir,
                    spec.handler,
                    str(write_end),
                    str(spec.memory_mib),
                    spec.name,
                    "$LATEST",
                    spec.arn,
                    f"/aws/lambda/{spec.name}",
                    spec.revision,
                ],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                pass_fds=(write_end,),
                env=self._environment(),
                cwd=spec.code_dir,
                start_new_session=True,
            )
        os.close(write_end)
        self._process, self._answers, self._buffer = process, read_end, b""
        address_space = self._cap_memory(process.pid)
        assert process.stdin is not None
        try:  # the worker loads the code only after this line: never outside its cgroup
            process.stdin.write((json.dumps({"address_space_mib": address_space}) + "\n").encode())
            process.stdin.flush()
        except OSError:
            pass  # it died already: the invocation finds out
        return process

    def _cap_memory(self, pid: int) -> int:
        """Put the new worker in a memory cgroup of its own at MemorySize; where that cannot be,
        the address-space limit (MiB) it is to set itself. Says which in the function's log."""
        spec, groups = self.spec, self.memory_groups
        key = f"{spec.name}-{uuid.uuid4().hex[:12]}"
        if groups.place(key, pid, spec.memory_mib * MIB):
            self._group = key
            _append_log(
                spec.log_path,
                f"INIT_START Memory Size: {spec.memory_mib} MB, capped by {groups.reason} "
                f"(cgroup {groups.group(key)})\n",
            )
            return 0
        address_space = spec.memory_mib + ADDRESS_SPACE_ALLOWANCE_MIB
        _append_log(
            spec.log_path,
            f"INIT_START Memory Size: {spec.memory_mib} MB, capped by address space only "
            f"(RLIMIT_AS {address_space} MiB): {groups.reason}\n",
        )
        return address_space

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(5)
        if process is not None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        if self._answers is not None:
            os.close(self._answers)
            self._answers = None
        group, self._group = self._group, None
        if group is not None:
            self.memory_groups.release(group)

    def invoke(self, event: Any, client_context: str | None = None) -> Outcome:
        with self._lock:
            return self._invoke(event, client_context)

    def _invoke(self, event: Any, client_context: str | None) -> Outcome:
        request_id = str(uuid.uuid4())
        spec = self.spec
        started = time.time()
        log_start = _log_size(spec.log_path)
        process = self._process
        if process is None or process.poll() is not None:
            self.close()
            process = self._start()
        request = {
            "request_id": request_id,
            "event": event,
            "deadline": started + spec.timeout,
            "client_context": client_context,
        }
        _append_log(spec.log_path, f"START RequestId: {request_id} Version: $LATEST\n")
        deadline = started + spec.timeout
        try:
            assert process.stdin is not None
            process.stdin.write((json.dumps(request) + "\n").encode())
            process.stdin.flush()
            line = self._read_answer(deadline)
        except (BrokenPipeError, OSError):
            line = None
        elapsed_ms = (time.time() - started) * 1000
        peak = self.memory_groups.peak_bytes(self._group) if self._group else None
        error_type: str | None = None  # what REPORT names after `Status:`, as Lambda does
        status = "error"
        if line is None:
            with contextlib.suppress(subprocess.TimeoutExpired):  # it closed its pipe: ending
                process.wait(max(0.0, min(2.0, deadline - time.time())))
            timed_out = process.poll() is None
            out_of_memory = not timed_out and self._out_of_memory()
            self.close()
            if timed_out:
                message = f"Task timed out after {spec.timeout:.2f} seconds"
                kind = error_type = "Sandbox.Timedout"
                status = "timeout"
            else:
                message = f"RequestId: {request_id} Error: Runtime exited with error: " + (
                    _exit_status(process.returncode)
                )
                kind = error_type = OUT_OF_MEMORY if out_of_memory else "Runtime.ExitError"
            _append_log(spec.log_path, f"{request_id} {message}\n")
            outcome = Outcome(_error_payload(message, kind, request_id), "Unhandled")
        else:
            answer = json.loads(line)
            if "error" in answer:
                outcome = Outcome(json.dumps(answer["error"]).encode(), "Unhandled")
                _append_log(
                    spec.log_path,
                    f"[ERROR] {answer['error'].get('errorType')}: "
                    f"{answer['error'].get('errorMessage')}\n",
                )
                if answer["error"].get("errorType") == OUT_OF_MEMORY:
                    error_type = OUT_OF_MEMORY
            else:
                outcome = Outcome(answer["payload"].encode())
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\t"
            f"Memory Size: {spec.memory_mib} MB"
        )
        if peak is not None:
            report += f"\tMax Memory Used: {-(-peak // MIB)} MB"
        if error_type is not None:
            report += f"\tStatus: {status}\tError Type: {error_type}"
        _append_log(spec.log_path, f"END RequestId: {request_id}\n{report}\n")
        outcome.request_id = request_id
        outcome.log_tail = _log_tail(spec.log_path, log_start)
        return outcome

    def _out_of_memory(self) -> bool:
        """Whether the kernel killed the worker for outgrowing its cgroup."""
        return self._group is not None and self.memory_groups.out_of_memory(self._group)

    def _read_answer(self, deadline: float) -> bytes | None:
        assert self._answers is not None
        while b"\n" not in self._buffer:
            left = deadline - time.time()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._answers], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._answers, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line


class HttpInvoker:
    """An HTTP function: the event POSTed as JSON; a 2xx answer's body is the payload, anything
    else (or no answer within the Timeout) an Unhandled error."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._client = httpx.Client(timeout=spec.timeout)

    def close(self) -> None:
        self._client.close()

    def invoke(self, event: Any, client_context: str | None = None) -> Outcome:
        request_id = str(uuid.uuid4())
        url = self.spec.url or ""
        headers = {"Lambda-Runtime-Aws-Request-Id": request_id}
        if client_context:
            headers["Lambda-Runtime-Client-Context"] = client_context
        try:
            response = self._client.post(url, json=event, headers=headers)
        except httpx.TimeoutException:
            message = f"Task timed out after {self.spec.timeout:.2f} seconds"
            return Outcome(
                _error_payload(message, "Sandbox.Timedout", request_id),
                "Unhandled",
                request_id=request_id,
            )
        except httpx.HTTPError as error:
            return Outcome(
                _error_payload(str(error), "Runtime.HttpError", request_id),
                "Unhandled",
                request_id=request_id,
            )
        if response.is_success:
            return Outcome(response.content or b"null", request_id=request_id)
        message = f"{url} answered HTTP {response.status_code}: {response.text[:200]}"
        return Outcome(
            _error_payload(message, "Runtime.HttpError", request_id),
            "Unhandled",
            request_id=request_id,
        )


Invoker = ProcessInvoker | HttpInvoker


def invoker_for(spec: FunctionSpec) -> Invoker:
    return HttpInvoker(spec) if spec.url else ProcessInvoker(spec)


def _exit_status(returncode: int | None) -> str:
    """How Lambda says a runtime process ended: `signal: killed`, `exit status 1`."""
    if returncode is None:
        return "unknown"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            return f"signal: {-returncode}"
        return "signal: killed" if name == "SIGKILL" else f"signal: {name.removeprefix('SIG')}"
    return f"exit status {returncode}"


def _log_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _append_log(path: str, text: str) -> None:
    with open(path, "a") as log:
        log.write(text)


def _log_tail(path: str, start: int) -> str:
    try:
        with open(path, "rb") as log:
            log.seek(max(start, _log_size(path) - LOG_TAIL_BYTES))
            return log.read(LOG_TAIL_BYTES).decode(errors="replace")
    except OSError:
        return ""
