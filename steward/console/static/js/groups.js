// Consumer groups (Steward's routes): each group's state and lag, one group's lag per partition,
// and an offset reset that always shows its dry run before it can be applied.

import { call, get, path } from "./api.js";
import { clusterTabs } from "./cluster.js";
import { clusterLink, errorBox, field, h, replace, section, table } from "./ui.js";

export async function groupsPage(ctx) {
  const [arn] = ctx.params;
  const list = h("div", { id: "groups" });
  replace(ctx.main, h("div", { class: "title" }, h("h1", {}, "Consumer groups")), clusterTabs(arn, "/groups"), section("Groups", list));
  async function refresh() {
    const { consumerGroups = [] } = await get(path("/steward/v1/clusters/{arn}/consumer-groups", arn));
    if (!ctx.current()) return;
    replace(list, table(["Group", "State", "Members", "Total lag"], consumerGroups.map((g) => [
      h("a", { href: clusterLink(arn, `/groups/${encodeURIComponent(g.groupId)}`) }, g.groupId), g.state, String(g.members), String(g.totalLag ?? 0)])));
  }
  await refresh();
  ctx.every(refresh, 3000);
}

export async function groupPage(ctx) {
  const [arn, groupId] = ctx.params;
  const route = path("/steward/v1/clusters/{arn}/consumer-groups/{group}", arn, groupId);
  const summary = h("div", { id: "group-summary" });
  const partitions = h("div", { id: "group-partitions" });
  const topic = h("select", { name: "topic", id: "reset-topic" });
  const to = h("select", { name: "to", id: "reset-to" }, ["earliest", "latest", "timestamp", "offset"].map((t) => h("option", { value: t }, t)));
  const value = h("input", { name: "value", id: "reset-value", placeholder: "offset, or epoch ms for a timestamp" });
  const preview = h("div", { id: "reset-preview" });
  const apply = h("button", { type: "button", id: "reset-apply", disabled: true }, "Apply reset");
  let planned = null;
  const body = (dryRun) => {
    const b = { topic: topic.value, to: to.value, dryRun };
    if (to.value === "offset") b.offset = Number(value.value);
    if (to.value === "timestamp") b.timestamp = Number(value.value);
    return b;
  };
  const show = (answer, done) => replace(preview,
    h("p", {}, done ? "Offsets moved:" : "Dry run: where the offsets would go (nothing changed yet)."),
    table(["Partition", "Now", "After"], answer.partitions.map((p) => [String(p.partition), String(p.previousOffset ?? "none committed"), String(p.newOffset)])));
  const dryRun = h("button", { type: "button", id: "reset-dry-run", onclick: async () => {
    try {
      const answer = await call("POST", `${route}/reset-offsets`, { body: body(true) });
      planned = JSON.stringify(body(false));
      show(answer, false);
      apply.disabled = false;
    } catch (e) { replace(preview, errorBox(e)); apply.disabled = true; }
  } }, "Dry run");
  apply.addEventListener("click", async () => {
    if (JSON.stringify(body(false)) !== planned) { replace(preview, errorBox({ message: "The reset changed since its dry run: run it again." })); apply.disabled = true; return; }
    try {
      show(await call("POST", `${route}/reset-offsets`, { body: body(false) }), true);
      apply.disabled = true;
      refresh();
    } catch (e) { replace(preview, errorBox(e)); }
  });
  for (const input of [topic, to, value]) input.addEventListener("change", () => { apply.disabled = true; });
  replace(ctx.main, h("div", { class: "title" }, h("h1", {}, groupId)), clusterTabs(arn, "/groups"),
    section("Group", summary), section("Lag per partition", partitions),
    section("Reset offsets", h("p", { class: "muted" }, "The group must have no active members. A dry run comes first."),
      h("div", { class: "grid-form" }, field("Topic", topic), field("To", to), field("Offset or timestamp", value)),
      h("div", { class: "buttons" }, dryRun, apply), preview));
  async function refresh() {
    const g = await get(route);
    if (!ctx.current()) return;
    replace(summary, h("dl", { class: "facts" }, h("dt", {}, "State"), h("dd", {}, g.state), h("dt", {}, "Members"), h("dd", {}, String(g.members.length)),
      h("dt", {}, "Coordinator"), h("dd", {}, String(g.coordinator ?? "–")), h("dt", {}, "Total lag"), h("dd", {}, String(g.totalLag ?? 0))));
    replace(partitions, table(["Topic", "Partition", "Committed", "Log end", "Lag", "Member"], g.partitions.map((p) => [
      p.topic, String(p.partition), String(p.committedOffset ?? "–"), String(p.logEndOffset ?? "–"), String(p.lag ?? "–"), p.memberId || "–"])));
    const topics = [...new Set(g.partitions.map((p) => p.topic))];
    if (topic.options.length !== topics.length) replace(topic, topics.map((t) => h("option", { value: t }, t)));
  }
  await refresh();
  ctx.every(refresh, 3000);
}
