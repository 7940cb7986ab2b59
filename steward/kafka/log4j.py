"""Logging of a Kafka 4.x node: a Log4j2 configuration in the properties format.

The JVM gets `-Dlog4j2.configurationFile=<file>` and `-Dkafka.logs.dir=<dir>`; every file path
below is relative to `${sys:kafka.logs.dir}`. `server.log` rolls by size so a node's logs stay
bounded. Only ERROR reaches the console (the node's stdout.log): that is where fatal startup
errors land, which is what an operator needs when a node keeps crashing.
"""

from __future__ import annotations

from dataclasses import dataclass

LOG_PATTERN = "[%d] %p %m (%c)%n"


@dataclass(frozen=True)
class KafkaLogging:
    root_level: str = "INFO"
    max_file_mb: int = 10
    """Size at which a log file rolls over."""
    backups: int = 5
    """Rolled files kept per log."""
    controller_log: bool = True
    """Controller decisions in controller.log instead of server.log."""
    state_change_log: bool = True
    """Partition state changes in state-change.log instead of server.log."""
    console_level: str = "ERROR"


def _rolling_file(name: str, file_name: str, settings: KafkaLogging) -> list[str]:
    prefix = f"appender.{name}"
    return [
        f"{prefix}.type = RollingFile",
        f"{prefix}.name = {name}",
        f"{prefix}.fileName = ${{logDir}}/{file_name}",
        f"{prefix}.filePattern = ${{logDir}}/{file_name}.%i",
        f"{prefix}.layout.type = PatternLayout",
        f"{prefix}.layout.pattern = ${{pattern}}",
        f"{prefix}.policies.type = Policies",
        f"{prefix}.policies.size.type = SizeBasedTriggeringPolicy",
        f"{prefix}.policies.size.size = {settings.max_file_mb}MB",
        f"{prefix}.strategy.type = DefaultRolloverStrategy",
        f"{prefix}.strategy.max = {settings.backups}",
        f"{prefix}.strategy.fileIndex = min",
    ]


def _logger(name: str, logger: str, level: str, appender: str | None = None) -> list[str]:
    lines = [f"logger.{name}.name = {logger}", f"logger.{name}.level = {level}"]
    if appender is not None:
        lines += [
            f"logger.{name}.additivity = false",
            f"logger.{name}.appenderRef.{appender}.ref = {appender}",
        ]
    return lines


def render_log4j2_properties(settings: KafkaLogging | None = None) -> str:
    settings = settings or KafkaLogging()
    lines = [
        "# Written by the Steward agent; rewritten whenever the node is applied.",
        "status = warn",
        "name = steward-kafka",
        "property.logDir = ${sys:kafka.logs.dir}",
        f"property.pattern = {LOG_PATTERN}",
        "",
        "appender.console.type = Console",
        "appender.console.name = console",
        "appender.console.layout.type = PatternLayout",
        "appender.console.layout.pattern = ${pattern}",
        "appender.console.filter.threshold.type = ThresholdFilter",
        f"appender.console.filter.threshold.level = {settings.console_level}",
        "",
        *_rolling_file("server", "server.log", settings),
        "",
    ]
    if settings.controller_log:
        lines += [*_rolling_file("controller", "controller.log", settings), ""]
    if settings.state_change_log:
        lines += [*_rolling_file("stateChange", "state-change.log", settings), ""]
    lines += [
        f"rootLogger.level = {settings.root_level}",
        "rootLogger.appenderRef.server.ref = server",
        "rootLogger.appenderRef.console.ref = console",
        "",
        # Per-request logging is very chatty at INFO/DEBUG.
        *_logger("request", "kafka.request.logger", "WARN"),
        *_logger("requestChannel", "kafka.network.RequestChannel$", "WARN"),
    ]
    if settings.controller_log:
        lines += [
            *_logger("controller", "org.apache.kafka.controller", "INFO", "controller"),
            *_logger("kafkaController", "kafka.controller", "INFO", "controller"),
        ]
    if settings.state_change_log:
        lines += _logger("stateChange", "state.change.logger", "INFO", "stateChange")
    return "\n".join(lines) + "\n"


def log4j_jvm_options(config_file: str, logs_dir: str) -> list[str]:
    return [f"-Dlog4j2.configurationFile={config_file}", f"-Dkafka.logs.dir={logs_dir}"]
