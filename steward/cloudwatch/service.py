"""CloudWatch's operations over Steward's metric source and its alarm book. Each takes the
request's members as nested dicts (datetimes for timestamps) and returns the answer's, whatever
protocol carried them (`steward.cloudwatch.api`).

Metrics: `AWS/Kafka` is MSK's namespace, with its metric names and dimensions ("Cluster Name",
"Broker ID", "Topic", "Consumer Group", "Partition"), filled by Steward's scraper and admin-API
readers; any other namespace is a user's own, filled by PutMetricData (names under `AWS/` are
AWS's and refused). Alarms are Steward's one alarm model (`steward.domain.alarms`): the ones made
here are the ones `steward alarms` and `/steward/v1/alarms` show, and the reverse.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from steward.cloudwatch.errors import (
    InternalServiceFault,
    InvalidFormatFault,
    InvalidNextToken,
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    LimitExceededFault,
    MissingRequiredParameterException,
    ResourceNotFound,
    ResourceNotFoundException,
)
from steward.cloudwatch.expressions import ExpressionError, evaluate, referenced_ids
from steward.domain.alarms import (
    STATISTICS,
    AlarmRule,
    AlarmState,
    AlarmStatus,
    Comparison,
    MissingData,
)
from steward.domain.errors import BadRequestException, NotFoundException
from steward.monitor.alarm_book import AlarmBook
from steward.monitor.metric_source import (
    KAFKA_NAMESPACE,
    MetricSource,
    is_statistic,
    percentile_of,
    series_name,
    split_series_name,
)
from steward.monitor.prometheus_source import PrometheusQueryError
from steward.monitor.store import Sample

Body = dict[str, Any]

MAX_ALARMS = 5000
MAX_QUERIES = 500
MAX_STATISTICS_DATAPOINTS = 1440
DEFAULT_MAX_DATAPOINTS = 100_800
LIST_METRICS_PAGE = 500
DESCRIBE_PAGE = 100
MAX_METRIC_DATA = 1000
MAX_DIMENSIONS = 30
MAX_VALUES_PER_DATUM = 150
PAST_LIMIT = 14 * 86400
FUTURE_LIMIT = 2 * 3600
_ID = re.compile(r"^[a-z][a-zA-Z0-9_]{0,254}$")
_HIGH_RESOLUTION = (1, 5, 10, 30)


def _required(body: Mapping[str, Any], member: str) -> Any:
    value = body.get(member)
    if value is None or value == "":
        raise MissingRequiredParameterException(f"The parameter {member} is required.")
    return value


def _invalid(member: str, value: Any, why: str = "") -> InvalidParameterValueException:
    text = f"The value {value} for parameter {member} is invalid."
    return InvalidParameterValueException(f"{text} {why}".strip())


def _epoch(value: Any, member: str) -> float:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise _invalid(member, value, "Expected a timestamp.")


def _moment(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _dimensions(items: Any, member: str = "Dimensions") -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items or []:
        name, value = item.get("Name"), item.get("Value")
        if not name or value is None:
            raise MissingRequiredParameterException(f"Each of {member} needs a Name and a Value.")
        if name in found:
            raise InvalidParameterCombinationException(
                f"The dimension {name} is given twice in {member}."
            )
        found[str(name)] = str(value)
    if len(found) > MAX_DIMENSIONS:
        raise _invalid(member, len(found), f"At most {MAX_DIMENSIONS} dimensions.")
    return found


def _wire_dimensions(dimensions: Mapping[str, str]) -> list[Body]:
    return [{"Name": k, "Value": v} for k, v in sorted(dimensions.items())]


def _check_period(period: Any, member: str = "Period") -> int:
    if not isinstance(period, int) or isinstance(period, bool):
        raise _invalid(member, period, "The period is a number of seconds.")
    if not (period in _HIGH_RESOLUTION or (period >= 60 and period % 60 == 0)):
        raise _invalid(member, period, "It must be 1, 5, 10, 30 or a multiple of 60.")
    return period


def _token(data: Body) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _read_token(token: str | None, kind: str) -> Body:
    if not token:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidNextToken("The NextToken is not one this service gave.") from None
    if not isinstance(data, dict) or data.get("kind") != kind:
        raise InvalidNextToken("The NextToken is not one this service gave.")
    return data


class CloudWatch:
    def __init__(
        self,
        source: Callable[[], MetricSource],
        alarms: AlarmBook,
        region: str,
        account: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`source`: where metrics are read and written (called on each use: the metric store
        opens lazily)."""
        self._source = source
        self.alarms = alarms
        self.region = region
        self.account = account
        self.clock = clock

    @property
    def source(self) -> MetricSource:
        return self._source()

    def alarm_arn(self, name: str) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{name}"

    def _alarm_of_arn(self, arn: Any) -> str:
        prefix = f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:"
        if not isinstance(arn, str) or not arn.startswith(prefix):
            raise ResourceNotFoundException(f"The resource {arn} does not exist.")
        return arn.removeprefix(prefix)

    # --- metrics --------------------------------------------------------------------------------
    def list_metrics(self, body: Body) -> Body:
        namespace = body.get("Namespace")
        metric = body.get("MetricName")
        wanted: list[tuple[str, str | None]] = []
        for item in body.get("Dimensions") or []:
            if not item.get("Name"):
                raise MissingRequiredParameterException("Each dimension filter needs a Name.")
            wanted.append((item["Name"], item.get("Value")))
        stored_name = series_name(namespace, metric) if namespace and metric else None
        found = []
        for series in self.source.list_series(stored_name):
            space, name = split_series_name(series.metric)
            if (namespace and space != namespace) or (metric and name != metric):
                continue
            if not all(
                key in series.dimensions and (value is None or series.dimensions[key] == value)
                for key, value in wanted
            ):
                continue
            found.append(
                {
                    "Namespace": space,
                    "MetricName": name,
                    "Dimensions": _wire_dimensions(series.dimensions),
                }
            )
        found.sort(key=lambda m: (m["Namespace"], m["MetricName"], str(m["Dimensions"])))
        offset = int(_read_token(body.get("NextToken"), "metrics").get("offset", 0))
        page = found[offset : offset + LIST_METRICS_PAGE]
        answer: Body = {"Metrics": page}
        if offset + LIST_METRICS_PAGE < len(found):
            answer["NextToken"] = _token({"kind": "metrics", "offset": offset + LIST_METRICS_PAGE})
        return answer

    def _range(self, body: Body, start_member: str, end_member: str) -> tuple[float, float]:
        start = _epoch(_required(body, start_member), start_member)
        end = _epoch(_required(body, end_member), end_member)
        if end <= start:
            raise InvalidParameterValueException(
                f"The parameter {start_member} must be earlier than {end_member}."
            )
        return start, end

    def _series(
        self,
        namespace: str,
        metric: str,
        dimensions: Mapping[str, str],
        start: float,
        end: float,
        period: int,
        statistic: str,
    ) -> dict[float, float]:
        try:
            found = self.source.query(
                series_name(namespace, metric), dimensions, start, end, period, statistic
            )
        except PrometheusQueryError as error:
            raise InternalServiceFault(f"The metric source did not answer: {error}") from None
        return {point.timestamp: point.value for point in found}

    def get_metric_statistics(self, body: Body) -> Body:
        namespace = _required(body, "Namespace")
        metric = _required(body, "MetricName")
        dimensions = _dimensions(body.get("Dimensions"))
        start, end = self._range(body, "StartTime", "EndTime")
        period = _check_period(_required(body, "Period"))
        statistics = list(body.get("Statistics") or [])
        extended = list(body.get("ExtendedStatistics") or [])
        if not statistics and not extended:
            raise MissingRequiredParameterException(
                "Give Statistics or ExtendedStatistics (or both)."
            )
        for statistic in statistics:
            if statistic not in STATISTICS:
                raise _invalid("Statistics", statistic)
        for statistic in extended:
            if percentile_of(statistic) is None:
                raise _invalid("ExtendedStatistics", statistic, "Use a percentile such as p99.")
        if (end - start) / period > MAX_STATISTICS_DATAPOINTS:
            raise InvalidParameterCombinationException(
                f"You have requested up to {math.ceil((end - start) / period)} datapoints, "
                f"which exceeds the limit of {MAX_STATISTICS_DATAPOINTS}."
            )
        by_time: dict[float, Body] = {}
        for statistic in statistics:
            for ts, value in self._series(
                namespace, metric, dimensions, start, end, period, statistic
            ).items():
                by_time.setdefault(ts, {"Timestamp": _moment(ts), "Unit": "None"})[statistic] = (
                    value
                )
        for statistic in extended:
            for ts, value in self._series(
                namespace, metric, dimensions, start, end, period, statistic
            ).items():
                point = by_time.setdefault(ts, {"Timestamp": _moment(ts), "Unit": "None"})
                point.setdefault("ExtendedStatistics", {})[statistic] = value
        return {"Label": metric, "Datapoints": [by_time[ts] for ts in sorted(by_time)]}

    def get_metric_data(self, body: Body) -> Body:
        queries = list(_required(body, "MetricDataQueries"))
        start, end = self._range(body, "StartTime", "EndTime")
        scan_by = body.get("ScanBy") or "TimestampDescending"
        if scan_by not in ("TimestampDescending", "TimestampAscending"):
            raise _invalid("ScanBy", scan_by)
        limit = body.get("MaxDatapoints") or DEFAULT_MAX_DATAPOINTS
        if not isinstance(limit, int) or limit < 1:
            raise _invalid("MaxDatapoints", limit)
        if len(queries) > MAX_QUERIES:
            raise LimitExceededFault(f"At most {MAX_QUERIES} MetricDataQueries.")
        token = _read_token(body.get("NextToken"), "data")
        results = self._metric_data(queries, start, end)
        descending = scan_by == "TimestampDescending"
        flat: list[tuple[int, float, float]] = []
        for index, (_, _, series, _) in enumerate(results):
            for ts in sorted(series, reverse=descending):
                flat.append((index, ts, series[ts]))
        offset = int(token.get("offset", 0))
        page = flat[offset : offset + limit]
        more = offset + limit < len(flat)
        last_index = {i for i, _, _ in flat[offset + limit :]}
        answer_results: list[Body] = []
        for index, (query_id, label, _, failure) in enumerate(results):
            points = [(ts, v) for i, ts, v in page if i == index]
            if offset and not points:
                continue
            if failure is not None:
                status = "InternalError"
            else:
                status = "PartialData" if index in last_index else "Complete"
            answer_results.append(
                {
                    "Id": query_id,
                    "Label": label,
                    "Timestamps": [_moment(ts) for ts, _ in points],
                    "Values": [v for _, v in points],
                    "StatusCode": status,
                    "Messages": [{"Code": "InternalError", "Value": failure}] if failure else [],
                }
            )
        answer: Body = {"MetricDataResults": answer_results, "Messages": []}
        if more:
            answer["NextToken"] = _token({"kind": "data", "offset": offset + limit})
        return answer

    def _metric_data(
        self, queries: list[Body], start: float, end: float
    ) -> list[tuple[str, str, dict[float, float], str | None]]:
        """(id, label, values, why it failed or None) of every query whose ReturnData is not
        false, in order."""
        by_id: dict[str, Body] = {}
        for query in queries:
            query_id = _required(query, "Id")
            if not _ID.match(query_id):
                raise _invalid(
                    "Id", query_id, "An id starts with a lowercase letter: letters, digits, _."
                )
            if query_id in by_id:
                raise _invalid("Id", query_id, "The ids of MetricDataQueries must be unique.")
            if (query.get("MetricStat") is None) == (query.get("Expression") is None):
                raise InvalidParameterCombinationException(
                    f"The query {query_id} must have exactly one of MetricStat and Expression."
                )
            by_id[query_id] = query
        values: dict[str, dict[float, float]] = {}
        labels: dict[str, str] = {}
        failed: dict[str, str] = {}
        """Queries whose metric could not be read: answered as InternalError, as CloudWatch does,
        and so is every expression over them."""
        metric_ids = [i for i, q in by_id.items() if q.get("MetricStat") is not None]
        for query_id in metric_ids:
            stat = by_id[query_id]["MetricStat"]
            metric = _required(stat, "Metric")
            name = _required(metric, "MetricName")
            namespace = _required(metric, "Namespace")
            period = _check_period(_required(stat, "Period"), "MetricStat.Period")
            statistic = _required(stat, "Stat")
            if not is_statistic(statistic):
                raise _invalid("MetricStat.Stat", statistic)
            try:
                values[query_id] = self._series(
                    namespace,
                    name,
                    _dimensions(metric.get("Dimensions")),
                    start,
                    end,
                    period,
                    statistic,
                )
            except InternalServiceFault as error:
                values[query_id] = {}
                failed[query_id] = error.message
            labels[query_id] = by_id[query_id].get("Label") or name
        pending = [i for i in by_id if i not in values]
        while pending:
            ready = [i for i in pending if referenced_ids(by_id[i]["Expression"]) <= set(values)]
            if not ready:
                missing = referenced_ids(by_id[pending[0]]["Expression"]) - set(by_id)
                why = (
                    f"it names unknown ids {sorted(missing)}"
                    if missing
                    else "the expressions refer to each other in a cycle"
                )
                raise _invalid("Expression", by_id[pending[0]]["Expression"], f"Here {why}.")
            for query_id in ready:
                expression = by_id[query_id]["Expression"]
                timestamps = sorted({ts for s in values.values() for ts in s})
                try:
                    found = evaluate(expression, values, metric_ids, timestamps)
                except ExpressionError as error:
                    raise _invalid("Expression", expression, str(error)) from None
                values[query_id] = found[0] if len(found) == 1 else _first_non_empty(found)
                labels[query_id] = by_id[query_id].get("Label") or query_id
                broken = referenced_ids(expression) & set(failed)
                if broken or (set(failed) and "METRICS" in expression.upper()):
                    failed[query_id] = failed[sorted(broken or failed)[0]]
                pending.remove(query_id)
        if not any(q.get("ReturnData", True) is not False for q in by_id.values()):
            raise InvalidParameterValueException("At least one query must have ReturnData true.")
        return [
            (query_id, labels[query_id], values[query_id], failed.get(query_id))
            for query_id, query in by_id.items()
            if query.get("ReturnData", True) is not False
        ]

    def put_metric_data(self, body: Body) -> Body:
        namespace = _required(body, "Namespace")
        if namespace.startswith("AWS/") or namespace == KAFKA_NAMESPACE:
            raise _invalid("Namespace", namespace, "Namespaces starting AWS/ are AWS's own.")
        data = list(_required(body, "MetricData"))
        if len(data) > MAX_METRIC_DATA:
            raise _invalid("MetricData", len(data), f"At most {MAX_METRIC_DATA} items.")
        now = self.clock()
        samples: list[Sample] = []
        for datum in data:
            metric = _required(datum, "MetricName")
            dimensions = _dimensions(datum.get("Dimensions"), "MetricData.Dimensions")
            when = datum.get("Timestamp")
            ts = now if when is None else _epoch(when, "MetricData.Timestamp")
            if ts < now - PAST_LIMIT or ts > now + FUTURE_LIMIT:
                raise _invalid(
                    "MetricData.Timestamp",
                    _moment(ts),
                    "Timestamps must be within the last two weeks and the next two hours.",
                )
            name = series_name(namespace, metric)
            for value in _datum_values(datum):
                samples.append(Sample(name, dimensions, ts, value))
        self.source.put(samples)
        return {}

    # --- alarms ---------------------------------------------------------------------------------
    def put_metric_alarm(self, body: Body) -> Body:
        name = _required(body, "AlarmName")
        if body.get("Metrics"):
            raise InvalidParameterCombinationException(
                "Alarms on metric math (Metrics) are not supported: give MetricName."
            )
        existing = self.alarms.store.alarms.get(name)
        if existing is None and len(self.alarms.store.alarms.all()) >= MAX_ALARMS:
            raise LimitExceededFault(f"The account already has {MAX_ALARMS} alarms.")
        statistic, extended = body.get("Statistic"), body.get("ExtendedStatistic")
        if (statistic is None) == (extended is None):
            raise InvalidParameterCombinationException(
                "Give exactly one of Statistic and ExtendedStatistic."
            )
        if statistic is not None and statistic not in STATISTICS:
            raise _invalid("Statistic", statistic)
        if extended is not None and percentile_of(extended) is None:
            raise _invalid("ExtendedStatistic", extended, "Use a percentile such as p99.")
        comparison = _required(body, "ComparisonOperator")
        if comparison not in {c.value for c in Comparison}:
            raise _invalid(
                "ComparisonOperator", comparison, "Anomaly detection bands are not supported."
            )
        missing = body.get("TreatMissingData") or MissingData.MISSING.value
        if missing not in {m.value for m in MissingData}:
            raise _invalid("TreatMissingData", missing)
        threshold = _required(body, "Threshold")
        tags = _tags(body.get("Tags"))
        rule = AlarmRule(
            name=name,
            namespace=_required(body, "Namespace"),
            metric_name=_required(body, "MetricName"),
            dimensions=tuple(sorted(_dimensions(body.get("Dimensions")).items())),
            statistic=statistic or extended,
            period=_required(body, "Period"),
            evaluation_periods=_required(body, "EvaluationPeriods"),
            datapoints_to_alarm=body.get("DatapointsToAlarm"),
            threshold=float(threshold),
            comparison=Comparison(comparison),
            treat_missing_data=MissingData(missing),
            alarm_actions=tuple(body.get("AlarmActions") or ()),
            ok_actions=tuple(body.get("OKActions") or ()),
            insufficient_data_actions=tuple(body.get("InsufficientDataActions") or ()),
            actions_enabled=body.get("ActionsEnabled") is not False,
            description=body.get("AlarmDescription") or "",
            unit=body.get("Unit"),
            tags=tags or (existing[0].tags if existing else ()),
            cluster_arn=existing[0].cluster_arn if existing else None,
        )
        try:
            self.alarms.put(rule)
        except BadRequestException as error:
            raise InvalidParameterValueException(error.message) from None
        return {}

    def _metric_alarm(self, rule: AlarmRule, status: AlarmStatus) -> Body:
        percentile = percentile_of(rule.statistic) is not None
        return {
            "AlarmName": rule.name,
            "AlarmArn": self.alarm_arn(rule.name),
            "AlarmDescription": rule.description or None,
            "ActionsEnabled": rule.actions_enabled,
            "OKActions": list(rule.ok_actions),
            "AlarmActions": list(rule.alarm_actions),
            "InsufficientDataActions": list(rule.insufficient_data_actions),
            "StateValue": status.state.value,
            "StateReason": status.reason,
            "StateUpdatedTimestamp": status.updated_at,
            "StateTransitionedTimestamp": status.updated_at,
            "MetricName": rule.metric_name,
            "Namespace": rule.namespace,
            "Statistic": None if percentile else rule.statistic,
            "ExtendedStatistic": rule.statistic if percentile else None,
            "Dimensions": _wire_dimensions(dict(rule.dimensions)),
            "Period": rule.period,
            "Unit": rule.unit,
            "EvaluationPeriods": rule.evaluation_periods,
            "DatapointsToAlarm": rule.required_breaches,
            "Threshold": rule.threshold,
            "ComparisonOperator": rule.comparison.value,
            "TreatMissingData": rule.treat_missing_data.value,
        }

    def describe_alarms(self, body: Body) -> Body:
        names = body.get("AlarmNames")
        prefix = body.get("AlarmNamePrefix")
        if names and prefix:
            raise InvalidParameterCombinationException(
                "AlarmNames and AlarmNamePrefix cannot be given together."
            )
        state = body.get("StateValue")
        if state is not None and state not in {s.value for s in AlarmState}:
            raise _invalid("StateValue", state)
        types = body.get("AlarmTypes") or ["MetricAlarm"]
        action_prefix = body.get("ActionPrefix")
        found = self.alarms.list(prefix=prefix, state=state) if "MetricAlarm" in types else []
        if names:
            found = [(r, s) for r, s in found if r.name in set(names)]
        if action_prefix:
            found = [
                (r, s)
                for r, s in found
                if any(
                    a.startswith(action_prefix)
                    for a in (*r.alarm_actions, *r.ok_actions, *r.insufficient_data_actions)
                )
            ]
        size = body.get("MaxRecords") or DESCRIBE_PAGE
        if not isinstance(size, int) or not 1 <= size <= DESCRIBE_PAGE:
            raise _invalid("MaxRecords", size, f"From 1 to {DESCRIBE_PAGE}.")
        offset = int(_read_token(body.get("NextToken"), "alarms").get("offset", 0))
        answer: Body = {
            "MetricAlarms": [self._metric_alarm(r, s) for r, s in found[offset : offset + size]],
            "CompositeAlarms": [],
        }
        if offset + size < len(found):
            answer["NextToken"] = _token({"kind": "alarms", "offset": offset + size})
        return answer

    def describe_alarms_for_metric(self, body: Body) -> Body:
        metric = _required(body, "MetricName")
        namespace = _required(body, "Namespace")
        dimensions = tuple(sorted(_dimensions(body.get("Dimensions")).items()))
        statistic = body.get("Statistic") or body.get("ExtendedStatistic")
        period = body.get("Period")
        found = [
            self._metric_alarm(r, s)
            for r, s in self.alarms.list()
            if r.metric_name == metric
            and r.namespace == namespace
            and ("Dimensions" not in body or r.dimensions == dimensions)
            and (statistic is None or r.statistic == statistic)
            and (period is None or r.period == period)
        ]
        return {"MetricAlarms": found}

    def delete_alarms(self, body: Body) -> Body:
        names = list(_required(body, "AlarmNames"))
        unknown = [n for n in names if self.alarms.store.alarms.get(n) is None]
        if unknown:
            raise ResourceNotFound(f"{len(unknown)} of the alarms were not found: {unknown}.")
        for name in names:
            with contextlib.suppress(NotFoundException):  # deleted meanwhile
                self.alarms.delete(name)
        return {}

    def set_alarm_state(self, body: Body) -> Body:
        name = _required(body, "AlarmName")
        state = _required(body, "StateValue")
        reason = _required(body, "StateReason")
        if state not in {s.value for s in AlarmState}:
            raise _invalid("StateValue", state)
        data = body.get("StateReasonData")
        if data is not None:
            try:
                json.loads(data)
            except ValueError:
                raise InvalidFormatFault("StateReasonData is not valid JSON.") from None
        try:
            self.alarms.set_state(name, AlarmState(state), reason)
        except NotFoundException:
            raise ResourceNotFound(f"The alarm {name} does not exist.") from None
        return {}

    def describe_alarm_history(self, body: Body) -> Body:
        name = body.get("AlarmName")
        kind = body.get("HistoryItemType")
        start = _epoch(body["StartDate"], "StartDate") if body.get("StartDate") else None
        end = _epoch(body["EndDate"], "EndDate") if body.get("EndDate") else None
        types = body.get("AlarmTypes") or ["MetricAlarm"]
        entries = (
            self.alarms.store.alarms.history(name, limit=10_000) if "MetricAlarm" in types else []
        )
        items = []
        for entry in entries:
            when: datetime = entry["timestamp"]
            if kind and entry["historyItemType"] != kind:
                continue
            if start is not None and when.timestamp() < start:
                continue
            if end is not None and when.timestamp() > end:
                continue
            items.append(
                {
                    "AlarmName": entry["alarmName"],
                    "AlarmType": "MetricAlarm",
                    "Timestamp": when,
                    "HistoryItemType": entry["historyItemType"],
                    "HistorySummary": entry["historySummary"],
                    "HistoryData": json.dumps(entry["historyData"] or {}),
                }
            )
        if body.get("ScanBy") == "TimestampAscending":
            items.reverse()
        size = body.get("MaxRecords") or DESCRIBE_PAGE
        offset = int(_read_token(body.get("NextToken"), "history").get("offset", 0))
        answer: Body = {"AlarmHistoryItems": items[offset : offset + size]}
        if offset + size < len(items):
            answer["NextToken"] = _token({"kind": "history", "offset": offset + size})
        return answer

    def enable_alarm_actions(self, body: Body) -> Body:
        return self._set_actions(body, True)

    def disable_alarm_actions(self, body: Body) -> Body:
        return self._set_actions(body, False)

    def _set_actions(self, body: Body, enabled: bool) -> Body:
        for name in _required(body, "AlarmNames"):
            with contextlib.suppress(NotFoundException):  # CloudWatch ignores unknown names
                self.alarms.set_actions_enabled(name, enabled)
        return {}

    # --- tags -----------------------------------------------------------------------------------
    def _tagged_rule(self, arn: Any) -> AlarmRule:
        found = self.alarms.store.alarms.get(self._alarm_of_arn(arn))
        if found is None:
            raise ResourceNotFoundException(f"The resource {arn} does not exist.")
        return found[0]

    def tag_resource(self, body: Body) -> Body:
        rule = self._tagged_rule(_required(body, "ResourceARN"))
        tags = dict(rule.tags)
        tags.update(dict(_tags(_required(body, "Tags"))))
        self.alarms.store.alarms.replace_rule(
            dataclasses.replace(rule, tags=tuple(sorted(tags.items())))
        )
        return {}

    def untag_resource(self, body: Body) -> Body:
        rule = self._tagged_rule(_required(body, "ResourceARN"))
        dropped = set(_required(body, "TagKeys"))
        kept = tuple((k, v) for k, v in rule.tags if k not in dropped)
        self.alarms.store.alarms.replace_rule(dataclasses.replace(rule, tags=kept))
        return {}

    def list_tags_for_resource(self, body: Body) -> Body:
        rule = self._tagged_rule(_required(body, "ResourceARN"))
        return {"Tags": [{"Key": k, "Value": v} for k, v in rule.tags]}


def _tags(items: Any) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for item in items or []:
        key = item.get("Key")
        if not key or item.get("Value") is None:
            raise MissingRequiredParameterException("Each tag needs a Key and a Value.")
        found[str(key)] = str(item["Value"])
    return tuple(sorted(found.items()))


def _first_non_empty(found: list[dict[float, float]]) -> dict[float, float]:
    """An expression that gives several series answers the first one (CloudWatch would answer
    each as a result of its own; one id has one result here)."""
    for series in found:
        if series:
            return series
    return {}


def _datum_values(datum: Body) -> list[float]:
    """The samples one MetricData item stands for: its Value; its Values, each repeated by its
    count; or its StatisticValues as samples with the same count, sum, minimum and maximum."""
    if datum.get("Value") is not None:
        value = float(datum["Value"])
        if not math.isfinite(value):
            raise _invalid("MetricData.Value", value)
        return [value]
    if datum.get("Values"):
        values = [float(v) for v in datum["Values"]]
        counts = [float(c) for c in datum.get("Counts") or [1.0] * len(values)]
        if len(values) > MAX_VALUES_PER_DATUM or len(counts) != len(values):
            raise _invalid(
                "MetricData.Values",
                len(values),
                f"At most {MAX_VALUES_PER_DATUM} Values, with as many Counts.",
            )
        return [v for v, c in zip(values, counts, strict=True) for _ in range(max(1, int(c)))]
    stats = datum.get("StatisticValues")
    if stats is None:
        raise MissingRequiredParameterException(
            "Each MetricData item needs a Value, Values or StatisticValues."
        )
    count = int(_required(stats, "SampleCount"))
    total, low, high = (float(_required(stats, k)) for k in ("Sum", "Minimum", "Maximum"))
    if count < 1 or low > high:
        raise _invalid("MetricData.StatisticValues", stats)
    if count == 1:
        return [total]
    count = min(count, MAX_VALUES_PER_DATUM)
    middle = (total - low - high) / (count - 2) if count > 2 else 0.0
    return [low, high, *([middle] * (count - 2))]
