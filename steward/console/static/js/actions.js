// The changes a user can make to a cluster, each a form in a dialog that sends one MSK update
// and then follows the operation it started, step by step, until it ends. Every update names
// the cluster's current version, as MSK requires, so a change made meanwhile elsewhere is
// refused by the API rather than overwritten.

import { call, get, path } from "./api.js";
import { errorBox, field, h, replace } from "./ui.js";
import { operationView } from "./cluster.js";

function dialog(title, build, submitLabel, send) {
  const box = h("dialog", { class: "action-dialog" });
  const content = h("div");
  let error = errorBox(null);
  const submit = h("button", { type: "submit", class: "primary", id: "action-submit" }, submitLabel);
  const live = h("div", { class: "live-operation" });
  const form = h(
    "form",
    {
      method: "dialog",
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        try {
          const answer = await send(form);
          const next = h("div");
          error.replaceWith(next);
          error = next;
          if (answer?.clusterOperationArn) follow(answer.clusterOperationArn, live);
          else if (answer?.state === "DELETING") replace(live, h("p", {}, "Deleting…"));
          submit.hidden = true;
        } catch (e) {
          const next = errorBox(e);
          error.replaceWith(next);
          error = next;
          submit.disabled = false;
        }
      },
    },
    h("h2", {}, title),
    content,
    error,
    live,
    h("div", { class: "buttons" },
      h("button", { type: "button", onclick: () => { box.close(); box.remove(); } }, "Close"),
      submit),
  );
  Promise.resolve(build(content)).catch((e) => content.append(errorBox(e)));
  box.append(form);
  document.body.append(box);
  box.showModal();
}

async function follow(operationArn, into) {
  while (into.isConnected) {
    try {
      const { clusterOperationInfo: op } = await get(path("/v1/operations/{arn}", operationArn));
      replace(into, h("ul", { class: "timeline", id: "followed-operation" }, operationView(op)));
      if (op.operationState === "UPDATE_COMPLETE" || op.operationState === "UPDATE_FAILED") return;
    } catch (e) {
      replace(into, errorBox(e));
    }
    await new Promise((r) => setTimeout(r, 1500));
  }
}

const number = (name, value, attrs = {}) => h("input", { name, type: "number", value, ...attrs });

export function actionsBar(info, nodes) {
  const arn = info.clusterArn;
  const p = info.provisioned || {};
  const group = p.brokerNodeGroupInfo || {};
  const version = info.currentVersion;
  const a = (template) => path(template, arn);
  const busy = info.state !== "ACTIVE";
  const brokers = nodes.filter((n) => n.brokerNodeInfo).map((n) => String(Number(n.brokerNodeInfo.brokerId)));
  const button = (id, label, open, danger) =>
    h("button", { id, type: "button", class: danger ? "danger" : "", disabled: busy && id !== "action-delete", onclick: open }, label);

  return h("div", { class: "actions" },
    button("action-scale", "Scale", () => dialog("Scale the cluster",
      (c) => replace(c, field("Brokers", number("brokers", p.numberOfBrokerNodes, { id: "scale-brokers", min: 1 }),
        `now ${p.numberOfBrokerNodes}, over ${(group.clientSubnets || []).length} zones`)),
      "Scale", (form) => call("PUT", a("/v1/clusters/{arn}/nodes/count"), {
        body: { currentVersion: version, targetNumberOfBrokerNodes: Number(form.elements.brokers.value) } }))),
    button("action-configuration", "Configuration", () => dialog("Apply a configuration",
      async (c) => {
        const { configurations = [] } = await get("/v1/configurations");
        replace(c,
          field("Configuration", h("select", { name: "configuration" }, configurations.map((x) =>
            h("option", { value: x.arn }, `${x.name} (latest revision ${x.latestRevision?.revision})`)))),
          field("Revision", number("revision", configurations[0]?.latestRevision?.revision || 1, { min: 1 })),
          configurations.length ? null : h("p", { class: "muted" }, "No configurations yet: make one with `aws kafka create-configuration` or `steward`."));
      },
      "Apply", (form) => call("PUT", a("/v1/clusters/{arn}/configuration"), {
        body: { currentVersion: version, configurationInfo: { arn: form.elements.configuration.value, revision: Number(form.elements.revision.value) } } }))),
    button("action-type", "Broker type", () => dialog("Change the broker type",
      (c) => replace(c, field("Broker type", h("input", { name: "type", value: group.instanceType }))),
      "Change", (form) => call("PUT", a("/v1/clusters/{arn}/nodes/type"), {
        body: { currentVersion: version, targetInstanceType: form.elements.type.value } }))),
    button("action-storage", "Storage", () => dialog("Grow the brokers' volumes",
      (c) => replace(c, field("Volume per broker (GiB)", number("size", group.storageInfo?.ebsStorageInfo?.volumeSize, { min: 1 }), "volumes only grow")),
      "Grow", (form) => call("PUT", a("/v1/clusters/{arn}/nodes/storage"), {
        body: { currentVersion: version, targetBrokerEBSVolumeInfo: [{ kafkaBrokerNodeId: "ALL", volumeSizeGB: Number(form.elements.size.value) }] } }))),
    button("action-reboot", "Reboot broker", () => dialog("Reboot a broker",
      (c) => replace(c, field("Broker", h("select", { name: "broker" }, brokers.map((b) => h("option", { value: b }, `Broker ${b}`))))),
      "Reboot", (form) => call("PUT", a("/v1/clusters/{arn}/reboot-broker"), { body: { brokerIds: [form.elements.broker.value] } }))),
    button("action-upgrade", "Upgrade", () => dialog("Upgrade Kafka",
      async (c) => {
        const found = await get("/v1/compatible-kafka-versions", { clusterArn: arn });
        const targets = (found.compatibleKafkaVersions || []).flatMap((v) => v.targetVersions || []);
        replace(c, targets.length
          ? field("Target version", h("select", { name: "target" }, targets.map((t) => h("option", { value: t }, t))))
          : [h("p", { class: "muted" }, `Kafka ${p.currentBrokerSoftwareInfo?.kafkaVersion} has no newer version to go to.`), h("input", { type: "hidden", name: "target", value: "" })]);
      },
      "Upgrade", (form) => call("PUT", a("/v1/clusters/{arn}/version"), {
        body: { currentVersion: version, targetKafkaVersion: form.elements.target.value } }))),
    button("action-delete", "Delete", () => dialog("Delete the cluster",
      (c) => replace(c,
        h("p", {}, "Deleting stops every broker and removes the cluster's data. This cannot be undone."),
        field(`Type the cluster's name (${info.clusterName}) to confirm`, h("input", { name: "confirm", id: "delete-confirm", autocomplete: "off" }))),
      "Delete", async (form) => {
        if (form.elements.confirm.value !== info.clusterName) {
          throw Object.assign(new Error("The name does not match: nothing was deleted."), {});
        }
        return call("DELETE", a("/v1/clusters/{arn}"), { query: { currentVersion: version } });
      }), true),
  );
}
