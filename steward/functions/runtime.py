"""Running a function: in a warm worker process of its own on this host (`worker.py`, Lambda's
handler contract), or, for an HTTP function, by POSTing the event as JSON to its URL.

Both are bounded in time: a worker that does not answer within the function's Timeout is killed
(and a fresh one starts at the next invocation, as Lambda replaces a timed-out environment); an
HTTP call has the Timeout as its whole budget. One invocation runs at a time per invoker; callers
that want more keep more invokers.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

WORKER = Path(__file__).with_name("worker.py")
HTTP_URL_VARIABLE = "STEWARD_FUNCTION_URL"
"""The environment member that makes a function an HTTP one (with Runtime `provided.al2023` or
`provided`): its events are POSTed to this URL instead of run here."""
HTTP_RUNTIMES = ("provided", "provided.al2", "provided.al2023")
PYTHON_RUNTIMES = ("python3.11", "python3.12", "python3.13", "python3.14")
LOG_TAIL_BYTES = 4096
"""How much of the log an invocation with LogType=Tail gets back, as Lambda's 4 KB."""


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

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
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
        return process

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(5)
        if process is not None and process.stdin is not None:
            process.stdin.close()
        if self._answers is not None:
            os.close(self._answers)
            self._answers = None

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
        try:
            assert process.stdin is not None
            process.stdin.write((json.dumps(request) + "\n").encode())
            process.stdin.flush()
            line = self._read_answer(started + spec.timeout)
        except (BrokenPipeError, OSError):
            line = None
        elapsed_ms = (time.time() - started) * 1000
        if line is None:
            timed_out = process.poll() is None
            self.close()
            message = (
                f"Task timed out after {spec.timeout:.2f} seconds"
                if timed_out
                else f"The function's process exited (code {process.returncode})"
            )
            kind = "Sandbox.Timedout" if timed_out else "Runtime.ExitError"
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
            else:
                outcome = Outcome(answer["payload"].encode())
        _append_log(
            spec.log_path,
            f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\t"
            f"Duration: {elapsed_ms:.2f} ms\tMemory Size: {spec.memory_mib} MB\n",
        )
        outcome.request_id = request_id
        outcome.log_tail = _log_tail(spec.log_path, log_start)
        return outcome

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
