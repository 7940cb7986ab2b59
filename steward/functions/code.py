"""A function's code: the ZIP it arrives in, checked before it is taken (the handler's module
and function must be in it), unpacked per revision under the functions' home, and given a
virtualenv of its own when it carries a requirements.txt."""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

from steward.functions.errors import InvalidParameterValueException

MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
"""Lambda's limit for a function's unzipped code."""
PIP_TIMEOUT = 600.0


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256: the base64 of the ZIP's SHA-256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidParameterValueException(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from None
    total = 0
    for info in archive.infolist():
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts:
            raise InvalidParameterValueException(f"The ZIP holds a path outside it: {path}.")
        total += info.file_size
    if total > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueException(
            f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
        )
    return archive


def check_handler(data: bytes, handler: str) -> None:
    """The ZIP has `module.function`'s module (a .py file or a package) defining the function;
    else Lambda's InvalidParameterValueException at CreateFunction, rather than a failure at the
    first invocation."""
    module, _, function = handler.rpartition(".")
    if not module or not function:
        raise InvalidParameterValueException(
            f"Handler {handler!r} must be module.function, e.g. lambda_function.lambda_handler."
        )
    archive = open_zip(data)
    names = set(archive.namelist())
    base = module.replace(".", "/")
    for candidate in (f"{base}.py", f"{base}/__init__.py"):
        if candidate in names:
            source = archive.read(candidate)
            if _defines(source, function):
                return
            raise InvalidParameterValueException(
                f"The handler's module {candidate} defines no function {function!r}."
            )
    raise InvalidParameterValueException(
        f"The ZIP has no module {module!r} for handler {handler!r} ({base}.py is not in it)."
    )


def _defines(source: bytes, name: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise InvalidParameterValueException(
            f"The handler's module does not parse: {error}."
        ) from None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return True
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        if isinstance(node, ast.ImportFrom | ast.Import) and any(
            (alias.asname or alias.name) == name for alias in node.names
        ):
            return True
    return False


def needs_packages(data: bytes) -> bool:
    return "requirements.txt" in open_zip(data).namelist()


class CodeDirectory:
    """Where one revision of one function lives on this host: `code/` unpacked, `venv/` when it
    needs packages, and the function's log next to its revisions."""

    def __init__(self, root: Path, name: str, revision: str) -> None:
        self.function_dir = root / name
        self.root = self.function_dir / revision
        self.code = self.root / "code"
        self.venv = self.root / "venv"
        self.log = self.function_dir / "function.log"

    @property
    def python(self) -> str:
        built = self.venv / "bin" / "python"
        return str(built) if (self.root / "venv.ready").exists() else sys.executable

    def unpack(self, data: bytes) -> None:
        """Idempotent: an existing unpacked revision is left as it is."""
        if (self.root / "code.ready").exists():
            return
        shutil.rmtree(self.code, ignore_errors=True)
        self.code.mkdir(parents=True)
        open_zip(data).extractall(self.code)
        (self.root / "code.ready").touch()

    def build_venv(self) -> None:
        """A virtualenv with requirements.txt installed from PyPI; raises with pip's complaint
        when it cannot be made."""
        if (self.root / "venv.ready").exists():
            return
        shutil.rmtree(self.venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(self.venv)], 120.0)
        _run(
            [
                str(self.venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-r",
                str(self.code / "requirements.txt"),
            ],
            PIP_TIMEOUT,
        )
        (self.root / "venv.ready").touch()

    def remove_function(self) -> None:
        shutil.rmtree(self.function_dir, ignore_errors=True)


def _run(command: list[str], timeout: float) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{command[0]} took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        raise RuntimeError((done.stderr or done.stdout).strip()[-1000:])
