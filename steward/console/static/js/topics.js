// A cluster's topics (MSK's topic routes): the list with a create form, and one topic's
// partitions, with each replica shown with the zone its broker is in, and its configs.

import { call, get, path } from "./api.js";
import { clusterTabs } from "./cluster.js";
import { clusterLink, errorBox, field, h, replace, section, table } from "./ui.js";

async function zonesOfBrokers(arn) {
  const { nodeInfoList = [] } = await get(path("/v1/clusters/{arn}/nodes", arn));
  return new Map(nodeInfoList.filter((n) => n.brokerNodeInfo)
    .map((n) => [Number(n.brokerNodeInfo.brokerId), n.brokerNodeInfo.clientSubnet]));
}

export async function topicsPage(ctx) {
  const [arn] = ctx.params;
  const { clusterInfo: info } = await get(path("/api/v2/clusters/{arn}", arn));
  const list = h("div", { id: "topics" });
  const name = h("input", { name: "topicName", id: "topic-name", placeholder: "orders" });
  const partitions = h("input", { name: "partitionCount", type: "number", value: 6 });
  const replication = h("input", { name: "replicationFactor", type: "number", value: Math.min(3, info.provisioned?.numberOfBrokerNodes || 3) });
  const configs = h("textarea", { name: "configs", rows: 2, placeholder: "retention.ms=604800000" });
  let error = errorBox(null);
  const form = h("form", {
    class: "grid-form", id: "topic-form",
    onsubmit: async (event) => {
      event.preventDefault();
      const pairs = Object.fromEntries(configs.value.split(/\n|,/).map((l) => l.trim()).filter(Boolean)
        .map((l) => l.split("=").map((x) => x.trim())));
      try {
        await call("POST", path("/v1/clusters/{arn}/topics", arn), { body: {
          topicName: name.value, partitionCount: Number(partitions.value), replicationFactor: Number(replication.value),
          ...(Object.keys(pairs).length ? { configs: btoa(JSON.stringify(pairs)) } : {}),
        } });
        const next = errorBox(null); error.replaceWith(next); error = next;
        name.value = "";
        refresh();
      } catch (e) {
        const next = errorBox(e); error.replaceWith(next); error = next;
      }
    },
  },
  field("Name", name), field("Partitions", partitions), field("Replication factor", replication),
  field("Configs (key=value, one a line)", configs),
  h("div", { class: "wide" }, error), h("div", { class: "wide" }, h("button", { type: "submit" }, "Create topic")));
  replace(ctx.main, h("div", { class: "title" }, h("h1", {}, info.clusterName)), clusterTabs(arn, "/topics"),
    section("Topics", list), section("Create a topic", form));
  async function refresh() {
    const { topics = [] } = await get(path("/v1/clusters/{arn}/topics", arn));
    if (!ctx.current()) return;
    replace(list, table(["Topic", "Partitions", "Replication", "Out-of-sync replicas"],
      topics.map((t) => [h("a", { href: clusterLink(arn, `/topics/${encodeURIComponent(t.topicName)}`) }, t.topicName),
        String(t.partitionCount), String(t.replicationFactor), String(t.outOfSyncReplicaCount ?? 0)])));
  }
  await refresh();
  ctx.every(refresh, 5000);
}

export async function topicPage(ctx) {
  const [arn, topic] = ctx.params;
  const zones = await zonesOfBrokers(arn);
  const parts = h("div", { id: "partitions" });
  const configs = h("div", { id: "topic-configs" });
  const replica = (id, isr, leader) => h("span", { class: `replica${isr ? " in-sync" : " out"}${id === leader ? " leader" : ""}`, title: isr ? "in sync" : "out of sync" },
    `${id} (${zones.get(id) || "?"})`);
  replace(ctx.main, h("div", { class: "title" }, h("h1", {}, topic)), clusterTabs(arn, "/topics"),
    section("Partitions", parts), section("Configs", configs));
  async function refresh() {
    const [{ partitions = [] }, described] = await Promise.all([
      get(path("/v1/clusters/{arn}/topics/{topic}/partitions", arn, topic)),
      get(path("/v1/clusters/{arn}/topics/{topic}", arn, topic)),
    ]);
    if (!ctx.current()) return;
    replace(parts, table(["Partition", "Leader", "Replicas (zone)", "In-sync replicas"],
      partitions.map((p) => [String(p.partition), p.leader < 0 ? h("strong", { class: "bad" }, "none") : `${p.leader} (${zones.get(p.leader) || "?"})`,
        h("span", {}, p.replicas.map((r) => replica(r, p.isr.includes(r), p.leader))),
        `${p.isr.length} of ${p.replicas.length}`])));
    let pairs = {};
    try { pairs = described.configs ? JSON.parse(atob(described.configs)) : {}; } catch { pairs = {}; }
    replace(configs, table(["Config", "Value"], Object.entries(pairs).sort().map(([k, v]) => [h("code", {}, k), String(v)])));
  }
  await refresh();
  ctx.every(refresh, 5000);
}
