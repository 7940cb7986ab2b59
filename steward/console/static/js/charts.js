// A cluster's charts over a chosen range, redrawn as new samples arrive: bytes in and out,
// messages in, under-replicated partitions and disk use per broker, from the metric routes
// (GetClusterMetricStatistics), and consumer lag per group. The metric routes select series by
// broker and topic only, so lag, which Steward keeps per consumer group, is sampled here from
// ListConsumerGroups while the page is open.

import { get, path } from "./api.js";
import { lineChart } from "./chart.js";
import { clusterTabs } from "./cluster.js";
import { h, replace, section } from "./ui.js";

const RANGES = [
  ["5m", 300, 5],
  ["15m", 900, 15],
  ["1h", 3600, 60],
  ["6h", 21600, 300],
  ["1d", 86400, 900],
  ["7d", 604800, 3600],
];

const CHARTS = [
  ["BytesInPerSec", "Bytes in", "bytes/s"],
  ["BytesOutPerSec", "Bytes out", "bytes/s"],
  ["MessagesInPerSec", "Messages in", "/s"],
  ["UnderReplicatedPartitions", "Under-replicated partitions", ""],
  ["KafkaDataLogsDiskUsed", "Disk used", "%"],
];

export async function chartsPage(ctx) {
  const [arn] = ctx.params;
  const { clusterInfo: info } = await get(path("/api/v2/clusters/{arn}", arn));
  let range = RANGES[1];
  const picker = h("div", { class: "ranges", role: "group" });
  const grid = h("div", { class: "charts", id: "charts" });
  const lag = new Map();
  function drawPicker() {
    replace(picker, RANGES.map((r) => h("button", {
      type: "button", class: r === range ? "small active" : "small", "data-range": r[0], "aria-pressed": String(r === range),
      onclick: () => { range = r; drawPicker(); refresh(); },
    }, r[0])));
  }
  replace(ctx.main,
    h("div", { class: "title" }, h("h1", {}, info.clusterName), h("span", { class: "muted" }, "live, every 5 s")),
    clusterTabs(arn, "/charts"),
    section("Range", picker),
    grid);
  drawPicker();

  async function series(metric, end, start, period) {
    const { metrics = [] } = await get(path("/steward/v1/clusters/{arn}/metrics", arn), { metricName: metric });
    const perBroker = metrics.filter((m) => !m.dimensions.some((d) => d.name === "Topic"));
    const brokers = [...new Set(perBroker.map((m) => m.dimensions.find((d) => d.name === "Broker ID")?.value))]
      .filter((b) => b !== undefined)
      .sort((x, y) => Number(x) - Number(y));
    return Promise.all(brokers.map(async (broker) => {
      const answer = await get(path("/steward/v1/clusters/{arn}/metrics/{metric}", arn, metric), {
        startTime: Math.floor(start), endTime: Math.ceil(end), period, statistic: "Average", brokerId: broker,
      });
      return { label: `broker ${broker}`, points: answer.datapoints.map((d) => [d.timestamp, d.value]) };
    }));
  }

  async function sampleLag() {
    try {
      const { consumerGroups = [] } = await get(path("/steward/v1/clusters/{arn}/consumer-groups", arn));
      const now = Date.now() / 1000;
      for (const g of consumerGroups) {
        if (!lag.has(g.groupId)) lag.set(g.groupId, []);
        lag.get(g.groupId).push([now, g.totalLag ?? 0]);
      }
    } catch {
      // a cluster that is not ACTIVE has no groups to read
    }
  }

  let latest = 0;
  async function refresh() {
    const mine = ++latest;
    const [, seconds, period] = range;
    const end = Date.now() / 1000;
    const start = end - seconds;
    const drawn = await Promise.all(CHARTS.map(async ([metric, title, unit]) => {
      const found = await series(metric, end, start, period).catch(() => []);
      return lineChart(title, found, { start, end, unit });
    }));
    await sampleLag();
    const lagSeries = [...lag.entries()].map(([group, points]) => ({ label: group, points: points.filter(([t]) => t >= start) }));
    drawn.push(lineChart("Consumer lag (sampled while open)", lagSeries, { start, end, unit: "" }));
    // a slower answer for a range the user has since left must not draw over the new one
    if (ctx.current() && mine === latest) {
      grid.dataset.range = range[0];
      replace(grid, drawn);
    }
  }
  await refresh();
  ctx.every(refresh, 5000);
}
