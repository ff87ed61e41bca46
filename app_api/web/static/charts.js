/* Small inline-SVG charts for the console: bars and lines per day, no library. */
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** A "nice" axis maximum at or above v (1, 2, 5 x 10^n). */
function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * Draw series over days into container.
 * series: [{label, values: [number|null], kind: "bar"|"line", cls: "c1"}]
 * A series whose values are all null is "not measured yet": the chart shows emptyText.
 */
function dayChart(container, days, series, emptyText) {
  container.replaceChildren();
  const measured = series.filter((s) => s.values.some((v) => v !== null && v !== undefined));
  if (measured.length === 0) {
    container.append(el("p", { class: "chart-empty" }, "—"), el("p", { class: "note" }, emptyText));
    return;
  }
  const W = 560, H = 190, L = 40, R = 8, T = 10, B = 28;
  const pw = W - L - R, ph = H - T - B;
  const max = niceMax(Math.max(0, ...measured.flatMap((s) => s.values.map((v) => v || 0))));
  const x = (i) => L + (pw * (i + 0.5)) / days.length;
  const y = (v) => T + ph - (ph * v) / max;
  const bw = Math.max(2, (pw / days.length) * 0.7 / Math.max(1, measured.filter((s) => s.kind === "bar").length));
  const label = series.map((s) => s.label).join(", ");
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, class: "daychart" });
  root.append(svg("title", {}, label));
  for (const v of max % 2 === 0 ? [0, max / 2, max] : [0, max]) {
    root.append(
      svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, fmtInt(v)),
    );
  }
  for (const i of [0, Math.floor(days.length / 2), days.length - 1]) {
    root.append(svg("text", { x: x(i), y: H - 8, "text-anchor": "middle", class: "tick" }, days[i].slice(5)));
  }
  let barIndex = 0;
  const bars = measured.filter((s) => s.kind === "bar").length;
  for (const s of measured) {
    if (s.kind === "bar") {
      const offset = (barIndex - (bars - 1) / 2) * bw;
      barIndex += 1;
      s.values.forEach((v, i) => {
        if (!v) return;
        const rect = svg("rect", { x: x(i) - bw / 2 + offset, y: y(v), width: bw, height: T + ph - y(v), class: "bar " + s.cls });
        rect.append(svg("title", {}, `${days[i]} ${s.label}: ${fmtInt(v)}`));
        root.append(rect);
      });
    } else {
      const pts = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v || 0).toFixed(1)}`).join(" ");
      root.append(svg("polyline", { points: pts, class: "line " + s.cls }));
    }
  }
  const legend = el(
    "ul",
    { class: "legend" },
    measured.map((s) => el("li", {}, el("span", { class: "swatch " + s.cls }), s.label)),
  );
  container.append(root, legend);
}
