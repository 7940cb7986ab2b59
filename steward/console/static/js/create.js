// The create form: what CreateClusterV2 takes for a provisioned cluster. The page checks
// nothing itself; the API's own validation answers, and its message is shown by the field it
// names.

import { call, get } from "./api.js";
import { clusterLink, errorBox, field, h, replace, section } from "./ui.js";

const input = (name, attrs = {}) => h("input", { name, id: `create-${name}`, ...attrs });

function select(name, options, chosen) {
  return h("select", { name, id: `create-${name}` },
    options.map((o) => h("option", { value: o, selected: o === chosen }, o)));
}

export async function createPage(ctx) {
  let versions = ["4.3.1"];
  try {
    const found = await get("/v1/kafka-versions");
    versions = (found.kafkaVersions || []).filter((v) => v.status !== "DEPRECATED").map((v) => v.version);
  } catch {
    // the form still works with a version typed by hand
  }
  const fields = {
    clusterName: input("clusterName", { placeholder: "orders" }),
    kafkaVersion: select("kafkaVersion", versions, versions.filter((v) => /^\d+\.\d+\.\d+$/.test(v)).at(-1) || versions.at(-1)),
    numberOfBrokerNodes: input("numberOfBrokerNodes", { type: "number", value: 3 }),
    clientSubnets: input("clientSubnets", { value: "az-a, az-b, az-c" }),
    instanceType: input("instanceType", { value: "kafka.m5.large" }),
    volumeSize: input("volumeSize", { type: "number", value: 10 }),
    clientBroker: select("clientBroker", ["TLS", "TLS_PLAINTEXT", "PLAINTEXT"], "TLS"),
    exporters: input("exporters", { type: "checkbox" }),
    enhancedMonitoring: select("enhancedMonitoring", ["DEFAULT", "PER_BROKER", "PER_TOPIC_PER_BROKER", "PER_TOPIC_PER_PARTITION"], "DEFAULT"),
  };
  let error = errorBox(null);
  const submit = h("button", { type: "submit", id: "create-submit" }, "Create cluster");
  const form = h(
    "form",
    {
      class: "grid-form",
      id: "create-form",
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
        const number = (v) => (v.trim() === "" ? undefined : Number(v));
        const body = {
          clusterName: fields.clusterName.value,
          provisioned: {
            kafkaVersion: fields.kafkaVersion.value,
            numberOfBrokerNodes: number(fields.numberOfBrokerNodes.value),
            brokerNodeGroupInfo: {
              instanceType: fields.instanceType.value,
              clientSubnets: fields.clientSubnets.value.split(",").map((z) => z.trim()).filter(Boolean),
              storageInfo: { ebsStorageInfo: { volumeSize: number(fields.volumeSize.value) } },
            },
            encryptionInfo: {
              encryptionInTransit: { clientBroker: fields.clientBroker.value, inCluster: fields.clientBroker.value !== "PLAINTEXT" },
            },
            enhancedMonitoring: fields.enhancedMonitoring.value,
            openMonitoring: {
              prometheus: {
                jmxExporter: { enabledInBroker: fields.exporters.checked },
                nodeExporter: { enabledInBroker: fields.exporters.checked },
              },
            },
          },
        };
        try {
          const created = await call("POST", "/api/v2/clusters", { body });
          location.hash = clusterLink(created.clusterArn);
        } catch (e) {
          const next = errorBox(e);
          error.replaceWith(next);
          error = next;
          const name = (e.invalidParameter || "").split(".").at(-1);
          const named = Object.entries(fields).find(([key]) => key.toLowerCase() === name.toLowerCase());
          if (named) named[1].classList.add("invalid");
          submit.disabled = false;
        }
      },
    },
    field("Cluster name", fields.clusterName),
    field("Kafka version", fields.kafkaVersion),
    field("Brokers", fields.numberOfBrokerNodes, "a multiple of the number of zones"),
    field("Zones (client subnets)", fields.clientSubnets, "comma-separated"),
    field("Broker type", fields.instanceType),
    field("Volume per broker (GiB)", fields.volumeSize),
    field("Client to broker encryption", fields.clientBroker),
    field("Monitoring level", fields.enhancedMonitoring),
    field("Prometheus exporters (throughput charts)", fields.exporters, "JMX and node exporters on every broker"),
    h("div", { class: "wide" }, error),
    h("div", { class: "wide" }, submit),
  );
  replace(ctx.main, h("h1", {}, "Create a cluster"), section("Provisioned cluster", form));
}
