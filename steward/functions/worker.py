"""The process a function's code runs in, with Lambda's handler contract: `handler(event,
context)`, the context carrying the request id, the function's name and the time left.

It is started as a script (`python worker.py ...`), by Steward's interpreter or a function's own
virtualenv, and uses the standard library only, so that nothing of Steward is on the path of the
user's code. It reads one invocation a line from stdin and answers one JSON line on the
response descriptor it was given; the handler's prints go to stdout and stderr, which the
runtime points at the function's log. The process stays warm between invocations, as Lambda's
execution environments do: module-level state lives on until the runtime ends it (a timeout, a
new code revision, or shutdown).

Its argv: code directory, handler (`module.function`), response descriptor, MemorySize in MiB
(for the context), and the function's name, version, ARN and log names for the context. Its
first line on stdin comes before the code is loaded: `{"address_space_mib": N}`, an address-space
limit to set on itself (0 for none) where the runtime could not cap its memory with a cgroup; the
runtime sends it once the process is in its cgroup, so that the code never runs outside it."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    def __init__(self, request: dict[str, Any], meta: dict[str, str], memory: int) -> None:
        self.aws_request_id: str = request["request_id"]
        self.function_name = meta["function_name"]
        self.function_version = meta["function_version"]
        self.invoked_function_arn = meta["function_arn"]
        self.memory_limit_in_mb = str(memory)
        self.log_group_name = meta["log_group"]
        self.log_stream_name = meta["log_stream"]
        self.identity = None
        self.client_context = request.get("client_context")
        self._deadline = float(request["deadline"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _limit_memory(mib: int) -> None:
    if mib <= 0:
        return
    import resource

    limit = mib * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _error(error: BaseException, request_id: str, kind: str | None = None) -> dict[str, Any]:
    frames = traceback.format_tb(error.__traceback__)
    return {
        "errorMessage": str(error),
        "errorType": kind or type(error).__name__,
        "requestId": request_id,
        "stackTrace": [line for frame in frames for line in [frame.rstrip("\n")]],
    }


def _load(code_dir: str, handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    sys.path.insert(0, code_dir)
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, function_name)


def main(argv: list[str]) -> int:
    code_dir, handler, response_fd, memory = argv[0], argv[1], int(argv[2]), int(argv[3])
    meta = dict(
        zip(
            ("function_name", "function_version", "function_arn", "log_group", "log_stream"),
            argv[4:9],
            strict=True,
        )
    )
    os.chdir(code_dir)
    setup = json.loads(sys.stdin.readline() or "{}")
    _limit_memory(int(setup.get("address_space_mib") or 0))
    answers = os.fdopen(response_fd, "w", buffering=1)
    function: Any = None
    init_error: dict[str, Any] | None = None
    try:
        function = _load(code_dir, handler)
    except Exception as error:  # a handler that fails to import fails every invocation
        init_error = _error(error, "", "Runtime.ImportModuleError")
    for line in sys.stdin:
        request = json.loads(line)
        request_id = request["request_id"]
        if init_error is not None:
            answer: dict[str, Any] = {"error": {**init_error, "requestId": request_id}}
        else:
            try:
                result = function(request["event"], LambdaContext(request, meta, memory))
                answer = {"payload": json.dumps(result)}
            except MemoryError as error:
                answer = {"error": _error(error, request_id, "Runtime.OutOfMemory")}
            except Exception as error:
                answer = {"error": _error(error, request_id)}
        sys.stdout.flush()
        sys.stderr.flush()
        answers.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
