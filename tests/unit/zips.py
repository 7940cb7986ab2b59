"""Function code as the tests upload it: ZIPs made in memory from a few sources."""

from __future__ import annotations

import io
import zipfile


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()
