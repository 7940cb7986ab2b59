// The clusters list: each cluster's state, Kafka version, brokers, zones and what the health
// monitor last found, refreshed every few seconds.

import { get, path } from "./api.js";
import { badge, clusterLink, h, replace, section, table } from "./ui.js";

export async function clustersPage(ctx) {
  const body = h("div", { id: "clusters" });
  replace(
    ctx.main,
    h("div", { class: "title" }, h("h1", {}, "Clusters"), h("a", { class: "button", href: "#/create" }, "Create cluster")),
    section("All clusters", body),
  );
  const health = new Map();
  async function refresh() {
    const { clusterInfoList = [] } = await get("/api/v2/clusters");
    await Promise.all(
      clusterInfoList.map(async (c) => {
        try {
          const report = await get(path("/steward/v1/clusters/{arn}/health", c.clusterArn));
          health.set(c.clusterArn, report.status);
        } catch {
          health.set(c.clusterArn, "UNKNOWN");
        }
      }),
    );
    if (!ctx.current()) return;
    replace(
      body,
      table(
        ["Name", "State", "Kafka version", "Brokers", "Zones", "Broker type", "Health", "Created"],
        clusterInfoList.map((c) => {
          const p = c.provisioned || {};
          const group = p.brokerNodeGroupInfo || {};
          return [
            h("a", { href: clusterLink(c.clusterArn), class: "cluster-name" }, c.clusterName),
            badge(c.state),
            p.currentBrokerSoftwareInfo?.kafkaVersion || "–",
            p.numberOfBrokerNodes ?? "–",
            (group.zoneIds || group.clientSubnets || []).join(", "),
            group.instanceType || "–",
            badge(health.get(c.clusterArn)),
            new Date(c.creationTime).toLocaleString(undefined, { hour12: false }),
          ];
        }),
        { class: "clusters" },
      ),
    );
  }
  await refresh();
  ctx.every(refresh, 3000);
}
