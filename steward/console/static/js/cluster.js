// One cluster: its brokers laid out by zone, the KRaft controller quorum, bootstrap strings,
// configuration, security, the operations timeline with each step's progress, alarms and what
// the health monitor found. Everything refreshes every two seconds, so an operation started
// here (or anywhere else) is followed live.

import { get, path } from "./api.js";
import { actionsBar } from "./actions.js";
import { badge, bytes, clusterLink, copyButton, h, replace, section, table, when } from "./ui.js";

const BOOTSTRAP_NAMES = {
  bootstrapBrokerString: "Plaintext",
  bootstrapBrokerStringTls: "TLS",
  bootstrapBrokerStringSaslScram: "SASL/SCRAM",
  bootstrapBrokerStringSaslIam: "SASL/IAM",
  bootstrapBrokerStringPublicTls: "Public TLS",
  bootstrapBrokerStringPublicSaslScram: "Public SASL/SCRAM",
  bootstrapBrokerStringPublicSaslIam: "Public SASL/IAM",
};

const optional = (promise) => promise.catch(() => null);

export function clusterTabs(arn, active) {
  const tab = (label, tail) =>
    h("a", { href: clusterLink(arn, tail), class: tail === active ? "tab active" : "tab" }, label);
  return h("nav", { class: "tabs" }, tab("Overview", ""), tab("Charts", "/charts"), tab("Topics", "/topics"), tab("Consumer groups", "/groups"));
}

function brokersByZone(nodes, health, storage) {
  const healthOf = new Map((health?.nodes || []).map((n) => [n.nodeId, n]));
  const storageOf = new Map((storage?.brokers || []).map((b) => [b.brokerId, b]));
  const brokers = nodes.filter((n) => n.brokerNodeInfo);
  const zones = new Map();
  for (const node of brokers) {
    const id = Number(node.brokerNodeInfo.brokerId);
    const zone = healthOf.get(id)?.zone || node.brokerNodeInfo.clientSubnet || "?";
    if (!zones.has(zone)) zones.set(zone, []);
    zones.get(zone).push(node);
  }
  return h(
    "div",
    { class: "zones" },
    [...zones.entries()].sort().map(([zone, list]) =>
      h("div", { class: "zone", "data-zone": zone }, h("h3", {}, zone),
        list.map((node) => {
          const id = Number(node.brokerNodeInfo.brokerId);
          const seen = healthOf.get(id);
          const disk = storageOf.get(id);
          const used = disk?.kafkaDataLogsDiskUsed;
          return h("div", { class: "broker", "data-broker": id },
            h("div", { class: "broker-head" }, h("strong", {}, `Broker ${id}`), badge(seen ? (seen.answers ? "RUNNING" : (seen.state || "DOWN").toUpperCase()) : "UNKNOWN")),
            h("div", { class: "muted" }, (node.brokerNodeInfo.endpoints || []).join(", "), " · ", node.instanceType),
            h("div", { class: "meter", title: `${used ?? 0}% of ${disk?.volumeSizeGB ?? "?"} GiB` },
              fill(used ?? 0)),
            h("div", { class: "muted" }, `Disk ${used === null || used === undefined ? "–" : used.toFixed(2) + "%"} · ${bytes(disk?.usedBytes)} of ${disk?.volumeSizeGB ?? "?"} GiB`),
          );
        })),
    ),
  );
}

function quorum(nodes, health) {
  const controllers = nodes.filter((n) => n.controllerNodeInfo);
  const healthOf = new Map((health?.nodes || []).map((n) => [n.nodeId, n]));
  const leader = health?.kafka?.quorumLeader;
  return table(
    ["Controller", "Zone", "Endpoint", "State", "Role"],
    controllers.map((n) => {
      const id = Number(n.nodeARN.split("/").at(-1));
      const seen = healthOf.get(id);
      return [String(id), seen?.zone || "–", (n.controllerNodeInfo.endpoints || []).join(", "),
        badge(seen ? (seen.answers ? "RUNNING" : (seen.state || "DOWN").toUpperCase()) : "UNKNOWN"),
        id === leader ? h("strong", {}, "leader") : "voter"];
    }),
  );
}

function bootstrap(strings) {
  const rows = Object.entries(BOOTSTRAP_NAMES)
    .filter(([key]) => strings?.[key])
    .map(([key, label]) => [label, h("code", { class: "bootstrap", "data-kind": key }, strings[key]), copyButton(strings[key])]);
  return rows.length ? table(["Listener", "Bootstrap servers", ""], rows) : h("p", { class: "muted" }, "Not available until the cluster is ACTIVE.");
}

function security(p) {
  const auth = p.clientAuthentication || {};
  const transit = p.encryptionInfo?.encryptionInTransit || {};
  const on = (x) => (x?.enabled ? "on" : "off");
  return h("dl", { class: "facts" },
    h("dt", {}, "Client to broker"), h("dd", {}, transit.clientBroker || "–"),
    h("dt", {}, "Inside the cluster"), h("dd", {}, transit.inCluster ? "TLS" : "plaintext"),
    h("dt", {}, "At rest"), h("dd", {}, p.encryptionInfo?.encryptionAtRest?.dataVolumeKMSKeyId || "Steward's key"),
    h("dt", {}, "Unauthenticated"), h("dd", {}, on(auth.unauthenticated)),
    h("dt", {}, "SASL/SCRAM"), h("dd", {}, on(auth.sasl?.scram)),
    h("dt", {}, "SASL/IAM"), h("dd", {}, on(auth.sasl?.iam)),
    h("dt", {}, "mTLS"), h("dd", {}, on(auth.tls)),
  );
}

function stepStatus(step) {
  return step.stepInfo?.stepStatus || "PENDING";
}

export function operationView(op) {
  const steps = op.operationSteps || [];
  const done = steps.filter((s) => stepStatus(s) === "SUCCEEDED").length;
  return h("li", { class: "operation", "data-operation": op.operationType, "data-state": op.operationState },
    h("div", { class: "op-head" }, h("strong", {}, op.operationType), " ", badge(op.operationState),
      h("span", { class: "muted" }, ` ${when(op.creationTime)}${op.endTime ? ` → ${when(op.endTime)}` : ""}`)),
    steps.length ? h("div", { class: "progress", title: `${done} of ${steps.length} steps` },
      fill((100 * done) / steps.length)) : null,
    h("ol", { class: "steps" }, steps.map((s) =>
      h("li", { class: `step ${stepStatus(s).toLowerCase()}` }, s.stepName, " ", h("small", {}, stepStatus(s))))),
    op.errorInfo ? h("div", { class: "error" }, op.errorInfo.errorString || op.errorInfo.errorCode) : null,
  );
}

/** A bar's filled part, its width set through the CSSOM: the page's policy allows no inline
 * style attributes. */
function fill(percent) {
  const el = h("span", { class: "fill", "data-percent": percent });
  el.style.setProperty("width", `${Math.max(0, Math.min(100, Number(percent)))}%`);
  return el;
}

export async function clusterPage(ctx) {
  const [arn] = ctx.params;
  const a = (template) => path(template, arn);
  const header = h("div", { class: "title" });
  const parts = Object.fromEntries(
    ["summary", "brokers", "quorum", "bootstrap", "configuration", "security", "operations", "alarms", "health"].map((k) => [k, h("div", { id: `cluster-${k}` })]),
  );
  const actions = h("div", { id: "actions" });
  replace(
    ctx.main,
    header,
    clusterTabs(arn, ""),
    actions,
    h("div", { class: "columns" },
      h("div", {},
        section("Brokers by zone", parts.brokers),
        section("Operations", parts.operations),
        section("Health findings", parts.health),
        section("Alarms", parts.alarms)),
      h("div", {},
        section("Summary", parts.summary),
        section("Bootstrap servers", parts.bootstrap),
        section("Controller quorum", parts.quorum),
        section("Configuration", parts.configuration),
        section("Security", parts.security))),
  );
  let actionsFor = null;
  let gone = false;
  async function refresh() {
    if (gone) return;
    let info;
    try {
      info = (await get(a("/api/v2/clusters/{arn}"))).clusterInfo;
    } catch (e) {
      if (e.status === 404) {
        replace(ctx.main, h("div", { class: "card", id: "cluster-gone" }, h("h1", {}, "Cluster deleted"),
          h("p", {}, "This cluster no longer exists. "), h("a", { href: "#/clusters" }, "Back to clusters")));
        gone = true;
        return;
      }
      throw e;
    }
    const [nodes, health, storage, strings, operations, alarms, status] = await Promise.all([
      optional(get(a("/v1/clusters/{arn}/nodes"))),
      optional(get(a("/steward/v1/clusters/{arn}/health"))),
      optional(get(a("/steward/v1/clusters/{arn}/storage"))),
      info.state === "ACTIVE" || info.state === "UPDATING" ? optional(get(a("/v1/clusters/{arn}/bootstrap-brokers"))) : null,
      optional(get(a("/v1/clusters/{arn}/operations"))),
      optional(get("/steward/v1/alarms", { clusterArn: arn })),
      optional(get(a("/steward/v1/clusters/{arn}/status"))),
    ]);
    if (!ctx.current()) return;
    const p = info.provisioned || {};
    const group = p.brokerNodeGroupInfo || {};
    const software = p.currentBrokerSoftwareInfo || {};
    const state = badge(info.state);
    state.id = "cluster-state";
    replace(header, h("h1", {}, info.clusterName), state);
    const brokerIds = (nodes?.nodeInfoList || []).map((n) => n.brokerNodeInfo?.brokerId).join(",");
    const actionsKey = `${info.currentVersion} ${info.state} ${brokerIds}`;
    if (actionsFor !== actionsKey) {
      actionsFor = actionsKey;
      replace(actions, actionsBar(info, nodes?.nodeInfoList || []));
    }
    replace(parts.summary, h("dl", { class: "facts" },
      h("dt", {}, "ARN"), h("dd", {}, h("code", {}, info.clusterArn)),
      h("dt", {}, "Kafka version"), h("dd", {}, software.kafkaVersion || "–"),
      h("dt", {}, "Brokers"), h("dd", { id: "broker-count" }, String(p.numberOfBrokerNodes ?? "–")),
      h("dt", {}, "Broker type"), h("dd", {}, group.instanceType || "–"),
      h("dt", {}, "Volume per broker"), h("dd", {}, `${group.storageInfo?.ebsStorageInfo?.volumeSize ?? "?"} GiB`),
      h("dt", {}, "Zones"), h("dd", {}, (group.zoneIds || group.clientSubnets || []).join(", ")),
      h("dt", {}, "Monitoring"), h("dd", {}, p.enhancedMonitoring || "DEFAULT"),
      h("dt", {}, "Current version"), h("dd", {}, h("code", {}, info.currentVersion)),
      status ? [h("dt", {}, "Generation"), h("dd", {}, `${status.observedGeneration ?? "–"} of ${status.generation}`)] : null,
    ));
    replace(parts.brokers, nodes ? brokersByZone(nodes.nodeInfoList || [], health, storage) : h("p", { class: "muted" }, "No brokers yet."));
    replace(parts.quorum, nodes ? quorum(nodes.nodeInfoList || [], health) : "–");
    replace(parts.bootstrap, bootstrap(strings));
    replace(parts.configuration, h("dl", { class: "facts" },
      h("dt", {}, "Configuration"), h("dd", {}, software.configurationArn ? h("code", {}, software.configurationArn) : "Kafka's defaults with Steward's (none chosen)"),
      h("dt", {}, "Revision"), h("dd", { id: "configuration-revision" }, software.configurationRevision ? String(software.configurationRevision) : "–"),
    ));
    replace(parts.security, security(p));
    const ops = [...(operations?.clusterOperationInfoList || [])].sort((x, y) => (x.creationTime < y.creationTime ? 1 : -1));
    replace(parts.operations, ops.length ? h("ol", { class: "timeline" }, ops.map(operationView)) : h("p", { class: "muted" }, "None yet."));
    replace(parts.alarms, table(["Alarm", "Metric", "State", "Reason"],
      (alarms?.alarms || []).map((x) => [x.alarmName, x.metricName, badge(x.stateValue), h("small", {}, x.stateReason || "")])));
    const findings = [...(health?.findings || [])];
    const conditions = (status?.conditions || []).filter((c) => c.status === "False" || c.type !== "Ready");
    replace(parts.health, h("div", {},
      h("p", {}, "Monitor: ", badge(health?.status), health?.checkedAt ? h("span", { class: "muted" }, ` checked ${new Date(health.checkedAt * 1000).toLocaleTimeString(undefined, { hour12: false })}`) : null,
        health?.kafka ? h("span", { class: "muted" }, ` · ${health.kafka.partitions} partitions, ${health.kafka.underReplicatedPartitions} under-replicated, ${health.kafka.offlinePartitions} offline`) : null),
      findings.length ? table(["Finding", "Detail"], findings.map((f) => [f.kind, `${f.nodeId !== undefined && f.nodeId !== null ? `node ${f.nodeId}: ` : ""}${f.reason} (${f.agent})`])) : h("p", { class: "muted", id: "no-findings" }, "No findings."),
      conditions.length ? table(["Condition", "Status", "Reason", "Message"], conditions.map((c) => [c.type, c.status, c.reason || "", c.message || ""])) : null,
    ));
  }
  await refresh();
  ctx.every(refresh, 2000);
}
