// Line charts drawn as SVG: a few series of (time, value) points, axes with their extremes and
// a legend. Small on purpose: the console needs lines over time, not a charting library.

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#be185d"];
const WIDTH = 560;
const HEIGHT = 180;
const PAD = { left: 56, right: 12, top: 10, bottom: 24 };

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function formatValue(v, unit) {
  if (unit === "bytes/s") {
    const units = ["B/s", "KB/s", "MB/s", "GB/s"];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${v.toFixed(v < 10 && (i || v % 1) ? 1 : 0)} ${units[i]}`;
  }
  if (unit === "%") return `${v.toFixed(v < 10 ? 2 : 1)}%`;
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

const clock = (t) =>
  new Date(t * 1000).toLocaleTimeString(undefined, { hour12: false, hour: "2-digit", minute: "2-digit" });

/**
 * Draws `series` ([{label, points: [[epochSeconds, value], ...]}]) over [start, end] into a new
 * <figure>; `data-points` on it counts the points drawn.
 */
export function lineChart(title, series, { start, end, unit } = {}) {
  const figure = document.createElement("figure");
  figure.className = "chart";
  const all = series.flatMap((s) => s.points);
  figure.dataset.points = String(all.length);
  figure.dataset.metric = title;
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  figure.append(caption);
  const root = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": title });
  const x0 = PAD.left;
  const x1 = WIDTH - PAD.right;
  const y0 = HEIGHT - PAD.bottom;
  const y1 = PAD.top;
  const values = all.map(([, v]) => v);
  let low = Math.min(0, ...values);
  let high = Math.max(...values, low + (unit === "%" ? 1 : 1));
  if (high === low) high = low + 1;
  const t0 = start ?? Math.min(...all.map(([t]) => t));
  const t1 = end ?? Math.max(...all.map(([t]) => t));
  const x = (t) => x0 + ((t - t0) / Math.max(t1 - t0, 1)) * (x1 - x0);
  const y = (v) => y0 - ((v - low) / (high - low)) * (y0 - y1);
  for (const frac of [0, 0.5, 1]) {
    const value = low + frac * (high - low);
    root.append(svg("line", { x1: x0, x2: x1, y1: y(value), y2: y(value), class: "grid" }));
    root.append(svg("text", { x: x0 - 6, y: y(value) + 4, "text-anchor": "end", class: "tick" }, formatValue(value, unit)));
  }
  root.append(svg("text", { x: x0, y: HEIGHT - 6, class: "tick" }, clock(t0)));
  root.append(svg("text", { x: x1, y: HEIGHT - 6, "text-anchor": "end", class: "tick" }, clock(t1)));
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const points = s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    if (s.points.length > 1) {
      root.append(svg("polyline", { points, fill: "none", stroke: colour, "stroke-width": 1.8, class: "line" }));
    }
    for (const [t, v] of s.points.length <= 60 ? s.points : []) {
      const dot = svg("circle", { cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 2.2, fill: colour, class: "point" });
      dot.append(svg("title", {}, `${s.label}: ${formatValue(v, unit)} at ${new Date(t * 1000).toLocaleTimeString()}`));
      root.append(dot);
    }
  });
  if (!all.length) {
    root.append(svg("text", { x: (x0 + x1) / 2, y: (y0 + y1) / 2, "text-anchor": "middle", class: "nodata" }, "No data yet"));
  }
  figure.append(root);
  const legend = document.createElement("div");
  legend.className = "legend";
  series.forEach((s, i) => {
    const item = document.createElement("span");
    item.style.setProperty("--colour", COLOURS[i % COLOURS.length]);
    const last = s.points.at(-1);
    item.textContent = `${s.label}${last ? `: ${formatValue(last[1], unit)}` : ""}`;
    legend.append(item);
  });
  figure.append(legend);
  return figure;
}
