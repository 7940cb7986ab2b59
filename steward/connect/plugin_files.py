"""Where a custom plugin's file comes from and where it is laid out.

A plugin's `s3Location` names an object of the S3 endpoint Steward is configured with
(STEWARD_CONNECT_S3_ENDPOINT; AWS's own when unset), or, with the bucket ARN `file:///`, a file of
the control plane's host. The file is copied, its MD5 and size taken, and unpacked into
`<home>/connect/plugins/<plugin id>/` (`steward.kafka.connect_plugins`); the workers of this
machine's agents read it there.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steward.connect.service import LOCAL_FILES_BUCKET_ARN
from steward.kafka.connect_plugins import PluginContentError

S3_TIMEOUT = 30.0


@dataclass(frozen=True)
class S3Access:
    endpoint: str | None
    region: str
    access_key_id: str | None = None
    secret_access_key: str | None = None

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(
                connect_timeout=S3_TIMEOUT,
                read_timeout=S3_TIMEOUT,
                retries={"max_attempts": 2},
                s3={"addressing_style": "path"},
            ),
        )


@dataclass(frozen=True)
class FetchedFile:
    path: Path
    md5: str
    size: int


def bucket_of(bucket_arn: str) -> str:
    return bucket_arn.removeprefix("arn:aws:s3:::")


def fetch_plugin_file(location: dict[str, Any], s3: S3Access, into: Path) -> FetchedFile:
    """Copy the plugin's file to `into`; PluginContentError when it cannot be read."""
    s3_location = location["s3Location"]
    bucket_arn, key = s3_location["bucketArn"], s3_location["fileKey"]
    into.parent.mkdir(parents=True, exist_ok=True)
    if bucket_arn == LOCAL_FILES_BUCKET_ARN:
        source = Path(key)
        if not source.is_file():
            raise PluginContentError(f"The file {key} does not exist on the Steward host.")
        shutil.copyfile(source, into)
    else:
        from botocore.exceptions import BotoCoreError, ClientError

        extra = {}
        if s3_location.get("objectVersion"):
            extra["VersionId"] = s3_location["objectVersion"]
        try:
            with tempfile.NamedTemporaryFile(dir=into.parent, delete=False) as out:
                s3.client().download_fileobj(bucket_of(bucket_arn), key, out, ExtraArgs=extra)
            Path(out.name).replace(into)
        except (BotoCoreError, ClientError) as error:
            raise PluginContentError(
                f"The object s3://{bucket_of(bucket_arn)}/{key} cannot be read: {error}"
            ) from error
    digest = hashlib.md5(usedforsecurity=False)
    with open(into, "rb") as source_file:
        for chunk in iter(lambda: source_file.read(1 << 20), b""):
            digest.update(chunk)
    return FetchedFile(into, digest.hexdigest(), into.stat().st_size)
