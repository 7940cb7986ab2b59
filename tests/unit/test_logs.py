"""What Steward's log shows: at INFO what a person needs (refusals, operations), not a line per
request to an agent; DEBUG for that chatter; text or JSON lines."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from steward import logs
from steward.api.app import build_app
from steward.api.auth.guard import AcceptAnyRequest
from steward.cli.main import cli
from steward.control.service import ClusterService
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.unit.serving import serving


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logs.CHATTY}
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def configured(level: str, fmt: str) -> io.StringIO:
    out = io.StringIO()
    logs.configure(level, fmt, [logging.StreamHandler(out)], "agent[az-a]")
    return out


def test_at_info_requests_to_agents_are_not_logged(restore_logging: None) -> None:
    out = configured("INFO", "text")
    logging.getLogger("httpx").info('HTTP Request: GET http://127.0.1.254:9781/v1/nodes "200 OK"')
    logging.getLogger("steward.control.reconciler").info("orders: HEAL began")
    text = out.getvalue()
    assert "HTTP Request" not in text
    assert "INFO agent[az-a] steward.control.reconciler: orders: HEAL began" in text


def test_at_debug_they_are(restore_logging: None) -> None:
    out = configured("debug", "text")
    logging.getLogger("httpx").info("HTTP Request: GET http://127.0.1.254:9781/v1/nodes")
    assert "HTTP Request" in out.getvalue()


def test_json_logs_are_one_object_a_line(restore_logging: None) -> None:
    out = configured("INFO", "json")
    log = logging.getLogger("steward.control.health_monitor")
    log.warning("healing orders: broker 2: its process runs but has not answered for 2.6 s")
    try:
        raise RuntimeError("the agent hung up")
    except RuntimeError:
        log.exception("a pass failed")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "steward.control.health_monitor"
    assert first["message"].startswith("healing orders") and first["process"] == "agent[az-a]"
    assert first["time"].endswith("+00:00")
    assert "RuntimeError: the agent hung up" in second["exception"]


def test_levels_and_formats_are_checked() -> None:
    with pytest.raises(ValueError, match="give one of DEBUG, INFO, WARNING, ERROR"):
        logs.configure("LOUD", "text", [])
    with pytest.raises(ValueError, match="give one of text, json"):
        logs.configure("INFO", "xml", [])
    refused = CliRunner().invoke(cli, ["server", "--log-format", "xml"])
    assert refused.exit_code == 2 and "'xml' is not one of 'text', 'json'" in refused.output


def test_a_refused_request_is_logged_at_info(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    zones = (Zone("az-a", "127.78.1"), Zone("az-b", "127.78.2"), Zone("az-c", "127.78.3"))
    settings = Settings(home=tmp_path, zones=zones)
    service = ClusterService(settings, Store(settings.db_url))
    with serving(build_app(service, AcceptAnyRequest())) as url:
        kafka = boto3.client(
            "kafka",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        with caplog.at_level(logging.INFO), pytest.raises(ClientError):
            kafka.describe_cluster_v2(ClusterArn="arn:aws:kafka:us-east-1:0:cluster/none/x")
    (refusal,) = [r for r in caplog.records if r.getMessage().startswith("refused")]
    assert refusal.levelno == logging.INFO
    assert "NotFoundException" in refusal.getMessage()
