"""Grafana dashboards and provisioning, Prometheus alert rules and the adapter rule.

Every PromQL expression is parsed (promql-parser) and may only name metrics the
services export; every ClickHouse panel query runs, its Grafana macros replaced,
against the real schema in an embedded chdb.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from foundation import metrics
from tests.infra.render import ROOT

GRAFANA = ROOT / "infra" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
ALERTS = ROOT / "infra" / "prometheus" / "alerts.yml"
ADAPTER = ROOT / "infra" / "prometheus" / "adapter-rules.yaml"
RUNBOOK = ROOT / "docs" / "operations.md"
CLICKHOUSE_PLUGIN = "grafana-clickhouse-datasource"

# The collector's series the dashboards and alerts use (requests by status code,
# request latency, accepted events, Kafka produce errors). Read from the collector's
# own metrics when it can be imported; this list is what was agreed otherwise.
ASSUMED_COLLECTOR_SERIES = {
    "insightlite_collector_requests_total",
    "insightlite_collector_request_seconds_bucket",
    "insightlite_collector_request_seconds_sum",
    "insightlite_collector_request_seconds_count",
    "insightlite_collector_events_accepted_total",
    "insightlite_collector_kafka_produce_errors_total",
}
# Bytewax's Kafka source gauge (labels step_id, topic, partition).
BYTEWAX_SERIES = {"bytewax_kafka_consumer_lag"}


def series_of(metric: MetricWrapperBase) -> set[str]:
    """The series names prometheus_client exposes for a metric: counters get
    _total, histograms _bucket/_sum/_count."""
    name, kind = metric._name, metric._type
    if kind == "counter":
        return {f"{name}_total"}
    if kind == "histogram":
        return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return {name}


def flow_series() -> set[str]:
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            names |= series_of(value)
    return names


def collector_series() -> set[str]:
    try:
        from api.collector.app import CollectorMetrics
    except ImportError:
        return ASSUMED_COLLECTOR_SERIES
    collector = CollectorMetrics.create()
    names: set[str] = set()
    for value in vars(collector).values():
        if isinstance(value, MetricWrapperBase):
            names |= series_of(value)
    return names


KNOWN_SERIES = flow_series() | collector_series() | BYTEWAX_SERIES


def test_collector_exports_what_the_dashboards_assume() -> None:
    assert collector_series() >= ASSUMED_COLLECTOR_SERIES


def metric_names(expression: str) -> list[str]:
    """Metric names an expression selects (raises ValueError if it does not parse)."""
    # Grafana's own variables are not PromQL; give them a value that parses.
    expression = expression.replace("$__rate_interval", "5m")
    names: list[str] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.append(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expression), visit)
    return names


def test_known_series_come_from_the_metrics_module() -> None:
    assert {
        "insightlite_step_events_in_total",
        "insightlite_step_events_out_total",
        "insightlite_rejected_events_total",
        "insightlite_filtered_events_total",
        "insightlite_sink_rows_total",
        "insightlite_sink_retries_total",
        "insightlite_sink_write_seconds_bucket",
        "insightlite_sink_batch_rows_bucket",
    } <= flow_series()
    with pytest.raises(ValueError):
        metric_names("sum(rate(x[5m])")


# --- dashboards ----------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))  # collapsed rows
    return found


def datasource_type(dashboard: dict[str, Any], datasource: dict[str, str]) -> str:
    """The plugin type of a panel's datasource, following a ${variable} uid."""
    uid = datasource["uid"]
    match = re.fullmatch(r"\$\{(\w+)\}", uid)
    if match:
        (variable,) = [v for v in dashboard["templating"]["list"] if v["name"] == match.group(1)]
        assert variable["type"] == "datasource"
        return str(variable["query"])
    return datasource["type"]


def test_dashboards_exist() -> None:
    assert [path.name for path in DASHBOARDS] == ["pipeline.json", "traffic.json"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_structure(path: Path) -> None:
    dashboard = load(path)
    assert dashboard["uid"] and dashboard["title"]
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel.get("datasource"), f"panel {panel['title']} has no datasource"
        assert panel.get("targets"), f"panel {panel['title']} has no targets"
        kind = datasource_type(dashboard, panel["datasource"])
        assert kind in (CLICKHOUSE_PLUGIN, "prometheus")
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert datasource_type(dashboard, target["datasource"]) == kind
            assert target.get("rawSql" if kind == CLICKHOUSE_PLUGIN else "expr")


def promql_targets() -> list[tuple[str, str]]:
    return [
        (f"{path.name}: {panel['title']}", target["expr"])
        for path in DASHBOARDS
        for panel in panels(load(path))
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def sql_targets() -> list[tuple[str, str]]:
    return [
        (f"{path.name}: {panel['title']}", target["rawSql"])
        for path in DASHBOARDS
        for panel in panels(load(path))
        for target in panel.get("targets", [])
        if "rawSql" in target
    ]


def test_pipeline_dashboard_metrics_exist() -> None:
    targets = promql_targets()
    used = set()
    for where, expression in targets:
        names = metric_names(expression)
        assert names, f"{where} selects no metric"
        unknown = set(names) - KNOWN_SERIES
        assert not unknown, f"{where}: unknown metrics {sorted(unknown)}"
        used |= set(names)
    # What the pipeline dashboard must show.
    for name in (
        "bytewax_kafka_consumer_lag",
        "insightlite_step_events_in_total",
        "insightlite_step_events_out_total",
        "insightlite_rejected_events_total",
        "insightlite_sink_write_seconds_bucket",
        "insightlite_collector_requests_total",
        "insightlite_collector_request_seconds_bucket",
    ):
        assert name in used, name
    lag = [e for _, e in targets if "bytewax_kafka_consumer_lag" in e]
    assert any("partition" in e for e in lag), "lag is shown per partition"


def test_clickhouse_queries_read_the_tables_correctly() -> None:
    targets = sql_targets()
    tables = set()
    for where, sql in targets:
        for table, final in re.findall(r"\bFROM\s+(?:insightlite\.)?(\w+)(\s+FINAL)?", sql, re.I):
            tables.add(table)
            if table in ("sessions", "events"):
                assert final, f"{where}: {table} must be read with FINAL"
        if "heatmap_aggregates" in sql:
            assert re.search(r"\bsum\(interaction_count\)", sql), f"{where}: heatmap needs sum()"
    assert {"events", "sessions", "heatmap_aggregates"} <= tables
    titles = " ".join(where for where, _ in targets).lower()
    for topic in ("page views", "top pages", "bounce", "rage", "errors by class", "heatmap"):
        assert topic in titles, topic


_RUN_QUERIES = r"""
import json, sys, tempfile
from connectors.clickhouse import apply_migrations, connect
queries = json.load(sys.stdin)
client = connect("chdb:" + tempfile.mkdtemp() + "/ch", database="insightlite")
apply_migrations(client)
errors = {}
for where, sql in queries:
    try:
        client.query(sql)
    except Exception as exc:
        errors[where] = str(exc)[:500]
client.close()
print(json.dumps(errors))
"""


def grafana_macros(sql: str) -> str:
    """Replace the ClickHouse plugin's macros and the dashboard's variables as Grafana
    would for 2026-11-01..02 and one site."""
    start, end = "'2026-11-01 00:00:00'", "'2026-11-02 00:00:00'"
    sql = re.sub(
        r"\$__timeFilter\((\w+)\)",
        rf"\1 >= toDateTime64({start}, 3, 'UTC') AND \1 <= toDateTime64({end}, 3, 'UTC')",
        sql,
    )
    sql = sql.replace("$__fromTime", f"toDateTime({start}, 'UTC')")
    sql = sql.replace("$__toTime", f"toDateTime({end}, 'UTC')")
    sql = sql.replace("${site:singlequote}", "'shop.example.com'")
    assert "$" not in sql, sql
    return sql


def test_clickhouse_queries_run_on_the_schema() -> None:
    queries = [(where, grafana_macros(sql)) for where, sql in sql_targets()]
    variables = [
        (f"variable {v['name']}", v["query"])
        for path in DASHBOARDS
        for v in load(path)["templating"]["list"]
        if v["type"] == "query"
    ]
    # A process of its own: the embedded engine allows one database path per process.
    result = subprocess.run(
        [sys.executable, "-c", _RUN_QUERIES],
        input=json.dumps(queries + variables),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    errors = json.loads(result.stdout.strip().splitlines()[-1])
    assert errors == {}


# --- provisioning ----------------------------------------------------------------------


def test_datasource_provisioning() -> None:
    (path,) = (GRAFANA / "provisioning" / "datasources").glob("*.yaml")
    text = path.read_text()
    config = yaml.safe_load(text)
    kinds = {source["type"]: source for source in config["datasources"]}
    assert set(kinds) == {"prometheus", CLICKHOUSE_PLUGIN}
    clickhouse = kinds[CLICKHOUSE_PLUGIN]
    assert clickhouse["jsonData"]["secure"] is True
    assert clickhouse["jsonData"]["defaultDatabase"] == "insightlite"
    # Values come from Grafana's environment; nothing secret is written here.
    assert re.fullmatch(r"\$\{[A-Z_]+\}", clickhouse["secureJsonData"]["password"])
    for dashboard in DASHBOARDS:
        for variable in load(dashboard)["templating"]["list"]:
            if variable["type"] == "datasource":
                assert variable["query"] in kinds


def test_dashboard_provisioning() -> None:
    (path,) = (GRAFANA / "provisioning" / "dashboards").glob("*.yaml")
    config = yaml.safe_load(path.read_text())
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"]


# --- alerts --------------------------------------------------------------------------


def alert_rules() -> list[dict[str, Any]]:
    config = yaml.safe_load(ALERTS.read_text())
    return [rule for group in config["groups"] for rule in group["rules"]]


def runbook_anchors() -> set[str]:
    """GitHub-style anchors of the runbook's headings."""
    anchors = set()
    for heading in re.findall(r"^#+\s+(.*)$", RUNBOOK.read_text(), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_alert_rules_are_complete() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    anchors = runbook_anchors()
    for rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), f"{name}: for"
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], name
        anchor = annotations["runbook_url"].partition("#")[2]
        assert anchor in anchors, f"{name}: runbook section #{anchor} does not exist"
        selected = metric_names(rule["expr"])
        assert selected and set(selected) <= KNOWN_SERIES, f"{name}: {selected}"


def test_alerts_cover_the_failure_modes() -> None:
    expressions = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    covered = " ".join(expressions.values())
    for series in (
        "bytewax_kafka_consumer_lag",
        "insightlite_rejected_events_total",
        "insightlite_sink_retries_total",
        "insightlite_sink_rows_total",
        "insightlite_collector_requests_total",
        "insightlite_step_events_out_total",
    ):
        assert series in covered, series
    lag = next(e for name, e in expressions.items() if "Lag" in name)
    assert "10m" in lag
    rejects = next(e for name, e in expressions.items() if "Reject" in name)
    assert "offset" in rejects, "reject spikes are measured against a baseline"


def test_adapter_rule_serves_the_worker_autoscaler_metric() -> None:
    rules = yaml.safe_load(ADAPTER.read_text())["rules"]["external"]
    (rule,) = rules
    assert rule["name"]["as"] == "insightlite_consumer_lag"
    query = rule["metricsQuery"].replace("<<.GroupBy>>", "topic").replace("<<.LabelMatchers>>", "")
    assert metric_names(query) == ["bytewax_kafka_consumer_lag"]
