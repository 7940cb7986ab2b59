// Small helpers to build the DOM. Text always goes in as text nodes, never as HTML, so names of
// clusters, topics or groups cannot inject markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const badge = (state) =>
  h("span", { class: `badge ${String(state || "unknown").toLowerCase()}`, "data-state": state }, state || "UNKNOWN");

export function table(headers, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows.length ? rows.map((row) => h("tr", {}, row.map((c) => h("td", {}, c))))
      : h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, "None"))),
  );
}

export function section(title, ...content) {
  return h("section", { class: "card" }, h("h2", {}, title), ...content);
}

export function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", {}, label), input, hint ? h("small", {}, hint) : null);
}

export function errorBox(error) {
  if (!error) return h("div", { class: "error", hidden: true });
  return h(
    "div",
    { class: "error", role: "alert" },
    error.message,
    error.invalidParameter ? h("code", {}, ` (${error.invalidParameter})`) : null,
  );
}

export function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let value = Number(n);
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value.toFixed(value < 10 && i ? 1 : 0)} ${units[i]}`;
}

export function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { hour12: false });
}

/** A button that copies `text`: the Clipboard API where the page may use it, else a selection. */
export function copyButton(text) {
  const button = h("button", {
    class: "small",
    type: "button",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        const area = h("textarea", {}, text);
        document.body.append(area);
        area.select();
        document.execCommand("copy");
        area.remove();
      }
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = "Copy"), 1500);
    },
  }, "Copy");
  return button;
}

export const clusterLink = (arn, tail = "") => `#/cluster/${encodeURIComponent(arn)}${tail}`;
