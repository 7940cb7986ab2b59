// A cluster's charts over a chosen range, redrawn as new samples arrive, all from the metric
// routes (GetClusterMetricStatistics): bytes in and out, messages in, under-replicated
// partitions and disk use per broker, and consumer lag per group (SumOffsetLag, which Steward
// keeps per group and topic; a group's line adds up its topics).

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

const LAG = "SumOffsetLag";

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

  const dimension = (m, name) => m.dimensions.find((d) => d.name === name)?.value;
  const listed = async (metric) =>
    (await get(path("/steward/v1/clusters/{arn}/metrics", arn), { metricName: metric })).metrics || [];

  async function datapoints(metric, [start, end, period], selection) {
    const answer = await get(path("/steward/v1/clusters/{arn}/metrics/{metric}", arn, metric), {
      startTime: Math.floor(start), endTime: Math.ceil(end), period, statistic: "Average", ...selection,
    });
    return answer.datapoints.map((d) => [d.timestamp, d.value]);
  }

  async function perBroker(metric, times) {
    const brokers = [...new Set((await listed(metric))
      .filter((m) => dimension(m, "Topic") === undefined)
      .map((m) => dimension(m, "Broker ID")))]
      .filter((b) => b !== undefined)
      .sort((x, y) => Number(x) - Number(y));
    return Promise.all(brokers.map(async (broker) =>
      ({ label: `broker ${broker}`, points: await datapoints(metric, times, { brokerId: broker }) })));
  }

  async function perGroup(times) {
    const topics = new Map();
    for (const m of await listed(LAG)) {
      const group = dimension(m, "Consumer Group");
      const topic = dimension(m, "Topic");
      if (group === undefined || topic === undefined) continue;
      topics.set(group, [...(topics.get(group) || []), topic]);
    }
    const lines = await Promise.all([...topics.keys()].sort().map(async (group) => {
      const total = new Map();
      await Promise.all(topics.get(group).map(async (topic) => {
        for (const [t, v] of await datapoints(LAG, times, { consumerGroup: group, topic })) {
          total.set(t, (total.get(t) ?? 0) + v);
        }
      }));
      return { label: group, points: [...total].sort(([a], [b]) => a - b) };
    }));
    // a group that is gone keeps its series, but has nothing to draw in a range it missed
    return lines.filter((line) => line.points.length);
  }

  let latest = 0;
  async function refresh() {
    const mine = ++latest;
    const [, seconds, period] = range;
    const end = Date.now() / 1000;
    const start = end - seconds;
    const times = [start, end, period];
    const drawn = await Promise.all([
      ...CHARTS.map(async ([metric, title, unit]) =>
        lineChart(title, await perBroker(metric, times).catch(() => []), { start, end, unit })),
      perGroup(times).catch(() => []).then((lines) => lineChart("Consumer lag", lines, { start, end, unit: "" })),
    ]);
    // a slower answer for a range the user has since left must not draw over the new one
    if (ctx.current() && mine === latest) {
      grid.dataset.range = range[0];
      replace(grid, drawn);
    }
  }
  await refresh();
  ctx.every(refresh, 5000);
}
