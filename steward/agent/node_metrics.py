"""Host metrics of a broker in Prometheus text format, on the broker's own address, port 11002:
what MSK's open monitoring "Node Exporter" serves there.

MSK runs Prometheus's node_exporter; Steward's agent serves the metrics MSK's dashboards and
Steward's own metrics use, under node_exporter's names:
- `node_cpu_seconds_total{cpu, mode}` (from /proc/stat);
- `node_memory_MemTotal_bytes`, `_MemFree_bytes`, `_MemAvailable_bytes`, `_Buffers_bytes`,
  `_Cached_bytes` (from /proc/meminfo);
- `node_filesystem_size_bytes`, `_avail_bytes`, `_free_bytes` of the filesystem of the broker's
  data directory, labelled `mountpoint`, and `purpose="kafka-data"` when that directory is a
  filesystem of its own (the broker's volume) rather than a directory of the host's;
- `node_load1`, `node_load5`, `node_load15`.

`NodeMetricsServers.sync(wanted)` starts and stops one small HTTP server per broker as the
brokers' specs ask (`NodeSpec.node_exporter`), live, restarting nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
_MEMORY_FIELDS = ("MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached")


def _ticks_per_second() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (ValueError, OSError):
        return 100


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_host_metrics(data_dir: Path, proc: Path = Path("/proc")) -> str:
    lines: list[str] = []
    ticks = _ticks_per_second()
    lines.append("# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.")
    lines.append("# TYPE node_cpu_seconds_total counter")
    try:
        for line in (proc / "stat").read_text().splitlines():
            parts = line.split()
            if not parts or not parts[0].startswith("cpu") or parts[0] == "cpu":
                continue
            cpu = parts[0][3:]
            for mode, value in zip(_CPU_MODES, parts[1:], strict=False):
                seconds = int(value) / ticks
                lines.append(f'node_cpu_seconds_total{{cpu="{cpu}",mode="{mode}"}} {seconds}')
    except OSError:
        pass
    try:
        meminfo = {}
        for line in (proc / "meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            meminfo[key.strip()] = rest.split()
        for name in _MEMORY_FIELDS:
            value = meminfo.get(name)
            if not value:
                continue
            scale = 1024 if len(value) > 1 and value[1] == "kB" else 1
            metric = f"node_memory_{name}_bytes"
            lines.append(f"# HELP {metric} Memory information field {name}_bytes.")
            lines.append(f"# TYPE {metric} gauge")
            lines.append(f"{metric} {int(value[0]) * scale}")
    except OSError:
        pass
    try:
        stat = os.statvfs(data_dir)
    except OSError:
        stat = None
    if stat is not None:
        labels = f'mountpoint="{_escape(str(data_dir))}"'
        if os.path.ismount(data_dir):
            labels += ',purpose="kafka-data"'
        for metric, value, help_text in (
            ("node_filesystem_size_bytes", stat.f_blocks * stat.f_frsize, "Filesystem size."),
            ("node_filesystem_free_bytes", stat.f_bfree * stat.f_frsize, "Free space."),
            ("node_filesystem_avail_bytes", stat.f_bavail * stat.f_frsize, "Space for users."),
        ):
            lines.append(f"# HELP {metric} {help_text}")
            lines.append(f"# TYPE {metric} gauge")
            lines.append(f"{metric}{{{labels}}} {value}")
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    if load is not None:
        for minutes, value in zip((1, 5, 15), load, strict=True):
            lines.append(f"# HELP node_load{minutes} {minutes}m load average.")
            lines.append(f"# TYPE node_load{minutes} gauge")
            lines.append(f"node_load{minutes} {value}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    data_dir: Path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    data_dir: Path


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] not in ("/metrics", "/"):
            self.send_error(404)
            return
        body = render_host_metrics(self.server.data_dir).encode()
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class NodeMetricsServers:
    """One HTTP server per broker that asks for node metrics, keyed by the node's key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: dict[str, tuple[Endpoint, _Server]] = {}

    def sync(self, wanted: Mapping[str, Endpoint]) -> None:
        with self._lock:
            for key in list(self._servers):
                endpoint, server = self._servers[key]
                if wanted.get(key) != endpoint:
                    self._close(key, server)
            for key, endpoint in wanted.items():
                if key not in self._servers:
                    self._open(key, endpoint)

    def endpoints(self) -> dict[str, Endpoint]:
        with self._lock:
            return {key: endpoint for key, (endpoint, _) in self._servers.items()}

    def close(self) -> None:
        self.sync({})

    def _open(self, key: str, endpoint: Endpoint) -> None:
        try:
            server = _Server((endpoint.host, endpoint.port), _Handler)
        except OSError as error:
            log.warning(
                "%s: cannot serve node metrics on %s:%d: %s",
                key,
                endpoint.host,
                endpoint.port,
                error,
            )
            return
        server.data_dir = endpoint.data_dir
        thread = threading.Thread(
            target=server.serve_forever, name=f"node-metrics-{key}", daemon=True
        )
        thread.start()
        self._servers[key] = (endpoint, server)
        log.info("%s: node metrics on %s:%d", key, endpoint.host, endpoint.port)

    def _close(self, key: str, server: _Server) -> None:
        server.shutdown()
        server.server_close()
        del self._servers[key]
