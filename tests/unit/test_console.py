"""The web console against the API app with SigV4 on: its static shell answers anyone and holds
no data, every call its pages make is signed in the browser and checked by the same verifier as
boto3's, a wrong key gets no further than the sign-in form, and the consumer lag chart draws each
group from the metric store."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import boto3
import httpx
import pytest

from steward.api.auth.keys import NewAccessKey
from steward.console.assets import STATIC, console_paths
from steward.control.service import ClusterService
from steward.monitor.store import Sample
from steward.settings import Settings, Zone
from steward.store.store import Store
from tests.console_browser import chromium, sign_in
from tests.unit.clusters import active_cluster
from tests.unit.serving import signed_endpoint_fixtures

ZONES = (Zone("az-a", "127.79.1"), Zone("az-b", "127.79.2"), Zone("az-c", "127.79.3"))
FIRST_PAGE_BUDGET = 200 * 1024
IMPORT = re.compile(r'(?:from |import\()"\./([\w.]+)"')
GONE = "arn:aws:kafka:us-east-1:000000000000:cluster/gone/0b0d1b4e-1c2a-4f7e-9a55-1-1"
STORED_KEY = "() => JSON.parse(sessionStorage.getItem('steward.console.credentials')).accessKeyId"


home, store, key, endpoint = signed_endpoint_fixtures("console", ZONES, key_name="console")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def test_the_shell_is_open_and_the_data_behind_it_is_not(endpoint: str) -> None:
    assert httpx.get(f"{endpoint}/console", follow_redirects=True).status_code == 200
    page = httpx.get(f"{endpoint}/console/")
    assert page.status_code == 200
    assert '<meta name="steward-region" content="us-east-1">' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert (
        httpx.get(f"{endpoint}/console/js/app.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    assert httpx.get(f"{endpoint}/console/not-a-file.js").status_code == 401
    assert httpx.get(f"{endpoint}/api/v2/clusters").status_code == 401


def test_every_open_path_is_a_file_of_the_shell() -> None:
    served = {p.removeprefix("/console/") for p in console_paths() if p.count("/") > 1}
    files = {p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file()}
    assert served - {""} <= files
    assert all(p == "/console" or p.startswith("/console/") for p in console_paths())


def test_all_of_the_console_s_javascript_fits_the_first_page_budget() -> None:
    scripts = list((STATIC / "js").glob("*.js"))
    assert sum(p.stat().st_size for p in scripts) < FIRST_PAGE_BUDGET
    for script in scripts:
        for name in IMPORT.findall(script.read_text()):
            assert (STATIC / "js" / name).is_file(), f"{script.name} imports {name}"


def test_a_user_signs_in_with_a_key_and_the_page_s_signed_calls_pass(
    endpoint: str, key: NewAccessKey, browser: Any, store: Store
) -> None:
    boto3.client(
        "kafka",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
    ).create_configuration(Name="page-config", ServerProperties=b"num.partitions=3\n")
    page = browser.new_page()
    sign_in(page, endpoint, key.access_key_id, key.secret_access_key)
    page.wait_for_selector("table.clusters td.empty")
    assert page.evaluate(STORED_KEY) == key.access_key_id
    answers = page.evaluate(
        """async (gone) => {
          const api = await import("/console/js/api.js");
          const filtered = await api.get("/api/v2/clusters", { clusterNameFilter: "a b:c/d ü*" });
          const configs = await api.get("/v1/configurations");
          let missing;
          try {
            await api.get(api.path("/api/v2/clusters/{arn}", gone));
          } catch (e) { missing = [e.status, e.message]; }
          let invalid;
          try {
            const body = { clusterName: "", provisioned: {} };
            await api.call("POST", "/api/v2/clusters", { body });
          } catch (e) { invalid = [e.status, e.invalidParameter]; }
          return { filtered, names: configs.configurations.map((c) => c.name), missing, invalid };
        }""",
        GONE,
    )
    assert answers["filtered"]["clusterInfoList"] == []
    assert answers["names"] == ["page-config"]
    assert answers["missing"][0] == 404
    assert answers["invalid"] == [400, "clusterName"]
    page.click("#sign-out")
    page.wait_for_selector("#sign-in")
    assert page.evaluate("() => sessionStorage.length") == 0
    page.close()


@pytest.mark.parametrize("which", ["secret", "key id"])
def test_a_wrong_key_is_refused_at_sign_in(
    endpoint: str, key: NewAccessKey, browser: Any, which: str
) -> None:
    page = browser.new_page()
    key_id = key.access_key_id if which == "secret" else "STWNOSUCHKEY00000000"
    secret = "not-the-secret" if which == "secret" else key.secret_access_key
    sign_in(page, endpoint, key_id, secret)
    refusal = page.wait_for_selector("#sign-in .error[role=alert]")
    assert "Sign-in refused" in refusal.inner_text()
    assert page.query_selector("table.clusters") is None
    assert page.evaluate("() => sessionStorage.length") == 0
    page.close()


def test_the_lag_chart_draws_each_group_over_the_range_from_the_metric_store(
    home: Path, store: Store, endpoint: str, key: NewAccessKey, browser: Any
) -> None:
    service = ClusterService(Settings(home=home, zones=ZONES), store)
    cluster = active_cluster(service, name="lagging")
    now = time.time()
    lag = {
        ("billing", "payments"): (40.0, 30.0),
        ("billing", "audit"): (2.0, 0.0),
        ("search", "payments"): (7.0, 9.0),
    }

    def put(group: str, topic: str, at: float, value: float) -> None:
        dimensions = {"Cluster Name": cluster.name, "Consumer Group": group, "Topic": topic}
        service.metrics.store.put([Sample("SumOffsetLag", dimensions, at, value)])

    for (group, topic), values in lag.items():
        for minutes_ago, value in zip((2, 1), values, strict=True):
            put(group, topic, now - 60 * minutes_ago, value)
    requested: list[str] = []
    page = browser.new_page()
    page.on("request", lambda request: requested.append(request.url))
    try:
        sign_in(page, endpoint, key.access_key_id, key.secret_access_key)
        page.wait_for_selector("table.clusters")
        page.evaluate(
            "(hash) => { location.hash = hash; }", f"#/cluster/{quote(cluster.arn, safe='')}/charts"
        )
        chart = "figure.chart[data-metric='Consumer lag']"
        drawn = page.wait_for_selector(f"{chart}:not([data-points='0'])")
        assert drawn.get_attribute("data-points") == "4"  # billing's two topics add up
        legend = [item.inner_text() for item in drawn.query_selector_all(".legend span")]
        assert legend == ["billing: 30", "search: 9"]
        put("search", "payments", time.time(), 12.0)  # the chart redraws as samples arrive
        drawn = page.wait_for_selector(f"{chart}[data-points='5']", timeout=15000)
        assert "search: 12" in drawn.inner_text()
    finally:
        page.close()
        store.remove_cluster(cluster.arn)
        service.metrics.close()
    lag_queries = [parse_qs(urlsplit(url).query) for url in requested if "/SumOffsetLag?" in url]
    assert {(q["consumerGroup"][0], q["topic"][0]) for q in lag_queries} == set(lag)
    assert all("brokerId" not in q and q["period"] == ["15"] for q in lag_queries)
    assert not [url for url in requested if "/consumer-groups" in url]
