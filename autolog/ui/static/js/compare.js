// Several runs side by side: one chart per metric with every run overlaid, the params
// with the rows that differ highlighted, and the latest metric values.

import { api } from "./api.js";
import { card, h, statusBadge } from "./dom.js";
import { formatCount, formatNumber, toNumber } from "./format.js";
import { href } from "./app.js";
import { MetricChart, chartColor } from "./chart.js";

export async function comparePage(ctx) {
  const ids = [...new Set((ctx.query.get("runs") || "").split(",").filter(Boolean))];
  if (ids.length < 2) throw new Error("Select at least two runs to compare.");
  const runs = await Promise.all(ids.map((id) => api.run(id, { signal: ctx.signal })));
  const experiment = ctx.query.get("experiment") || runs[0].experiment;
  ctx.setTitle(`Compare ${runs.length} runs`);
  ctx.setCrumbs([
    { label: "Experiments", href: "#/" },
    { label: experiment, href: href(`/experiments/${encodeURIComponent(experiment)}`) },
    { label: `Compare ${runs.length} runs` },
  ]);
  const colored = runs.map((run, index) => ({ ...run, color: chartColor(index) }));
  const chips = h("div", { class: "run-chips" }, colored.map((run) =>
    h("a", { class: "run-chip", href: href(`/runs/${run.id}`) },
      h("span", { class: "swatch", style: `--c:${run.color}` }), h("span", {}, run.name))));

  const charts = [];
  ctx.onDispose(() => charts.forEach((chart) => chart.destroy()));
  const metricKeys = countKeys(runs.map((run) => run.metrics.map((m) => m.key)));
  // A metric logged once per run (AIC, a test score) is a value: bars across runs, not a chart.
  const isSeries = (key) => runs.some((run) => run.metrics.some((m) => m.key === key && m.count > 1));
  const seriesKeys = metricKeys.filter(isSeries);
  const valueKeys = metricKeys.filter((key) => !isSeries(key));
  const chartGrid = h("div", { class: "charts" }, seriesKeys.map((key) => {
    const having = colored.filter((run) => run.metrics.some((m) => m.key === key));
    const target = h("div");
    const note = h("p", { class: "chart-note" });
    const element = h("article", { class: "card chart-card", dataset: { metric: key } },
      h("div", { class: "chart-head" },
        h("h3", { title: key }, h("a", { href: href("/metric", { runs: having.map((r) => r.id).join(","), key }) }, key)),
        h("span", { class: "latest" }, `${having.length} of ${runs.length} runs`)),
      target,
      h("div", { class: "legend", "aria-label": `Legend of ${key}` }, having.map((run) =>
        h("span", { class: "item" }, h("span", { class: "swatch", style: `--c:${run.color}` }), h("span", {}, run.name)))),
      note);
    element.start = () => {
      const chart = new MetricChart(target, {
        key, height: 200,
        runs: having.map((run) => ({ id: run.id, name: run.name, status: run.status, start: run.start, color: run.color })),
        onDetail: ({ shown, total, sampled }) => {
          note.textContent = sampled ? `${formatCount(shown)} of ${formatCount(total)} points shown` : "";
        },
      });
      charts.push(chart);
      chart.load();
    };
    return element;
  }));

  const page = h("div", { class: "page" },
    h("div", { class: "page-head" },
      h("div", { class: "title" }, h("h1", { tabindex: "-1" }, `Compare ${runs.length} runs`), chips)),
    h("div", { class: "sections" },
      seriesKeys.length ? h("section", { "aria-label": "Charts" }, chartGrid) : null,
      valueKeys.length ? barsSection(colored, valueKeys) : null,
      paramsTable(colored),
      metricsTable(colored, metricKeys)));
  ctx.main.replaceChildren(page);
  for (const element of chartGrid.children) element.start();
  document.body.dataset.rendered = "compare";
}

/** Single-valued metrics as horizontal bars, one group per metric; non-finite values said. */
function barsSection(runs, keys) {
  const groups = keys.map((key) => {
    const values = runs.map((run) => {
      const metric = run.metrics.find((m) => m.key === key);
      return metric ? toNumber(metric.latest) : null;
    });
    const finite = values.filter((v) => v !== null && Number.isFinite(v));
    const high = Math.max(0, ...finite);
    const low = Math.min(0, ...finite);
    const span = high - low || 1;
    return h("article", { class: "card bar-card", dataset: { metric: key } },
      h("div", { class: "chart-head" }, h("h3", { title: key }, key)),
      h("div", { class: "bars", role: "list" }, runs.flatMap((run, index) => {
        const value = values[index];
        const finiteValue = value !== null && Number.isFinite(value);
        const share = finiteValue ? (Math.abs(value) / span) * 100 : 0;
        return [
          h("span", { class: "bar-label", title: run.name }, run.name),
          h("div", { role: "listitem", "aria-label": `${run.name}: ${formatNumber(value)}` },
            finiteValue ? h("div", { class: "bar", style: `width:${share.toFixed(2)}%;background:${run.color}` }) : null),
          h("span", { class: `num${value !== null && !finiteValue ? " nonfinite" : ""}` }, formatNumber(value)),
        ];
      })));
  });
  return h("section", { "aria-label": "Single values", class: "charts bar-charts" }, groups);
}

/** A value without the counter frameworks append to generated names (adam_1 is adam). */
function sameKind(value) {
  const text = String(value ?? "\u0000missing");
  return /^[A-Za-z][\w.-]*_\d+$/.test(text) ? text.replace(/_\d+$/, "") : text;
}

/** Keys present in most runs first, then alphabetical. */
function countKeys(keyLists) {
  const counts = new Map();
  for (const keys of keyLists) for (const key of new Set(keys)) counts.set(key, (counts.get(key) || 0) + 1);
  return [...counts.keys()].sort((a, b) => counts.get(b) - counts.get(a) || a.localeCompare(b));
}

function headRow(runs, first, numeric = false) {
  return h("tr", {}, h("th", { scope: "col", class: "key" }, first),
    runs.map((run) => h("th", { scope: "col", class: numeric ? "num" : "" },
      h("span", { class: "swatch", style: `--c:${run.color}` }), run.name)));
}

function paramsTable(runs) {
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run.params)))].sort((a, b) => a.localeCompare(b));
  const differs = (key) => new Set(runs.map((run) => sameKind(run.params[key]))).size > 1;
  const differing = keys.filter(differs).length;
  const rows = keys.map((key) => {
    const different = differs(key);
    return h("tr", { class: different ? "differs" : "", dataset: { key } },
      h("th", { scope: "row", class: "key" }, key, different ? h("span", { class: "sr-only" }, " (differs)") : null),
      runs.map((run) => h("td", {}, run.params[key] ?? h("span", { class: "faint" }, "—"))));
  });
  const table = h("table", { class: "table compare-table params-compare" },
    h("thead", {}, headRow(runs, "Param")), h("tbody", {}, rows));
  const onlyDiff = h("input", {
    type: "checkbox", class: "check",
    onchange: (event) => {
      for (const row of table.tBodies[0].rows) row.hidden = event.target.checked && !row.classList.contains("differs");
    },
  });
  const toggle = keys.length ? h("label", { class: "diff-toggle" }, onlyDiff, `Only the ${differing} that differ`) : null;
  const body = keys.length ? h("div", { class: "table-scroll" }, table) : h("p", { class: "card-empty" }, "These runs have no params.");
  return card("Params", body, { count: keys.length, id: "compare-params", actions: toggle });
}

function metricsTable(runs, keys) {
  if (!keys.length) return null;
  const rows = keys.map((key) => h("tr", {},
    h("th", { scope: "row", class: "key" }, key),
    runs.map((run) => {
      const metric = run.metrics.find((m) => m.key === key);
      return h("td", { class: "num", title: metric ? String(metric.latest) : "" }, metric ? formatNumber(metric.latest) : h("span", { class: "faint" }, "—"));
    })));
  const statusRow = h("tr", {}, h("th", { scope: "row", class: "key" }, "status"), runs.map((run) => h("td", { class: "num" }, statusBadge(run.status))));
  const table = h("table", { class: "table compare-table" },
    h("thead", {}, headRow(runs, "Latest value", true)), h("tbody", {}, statusRow, rows));
  return card("Metrics", h("div", { class: "table-scroll" }, table), { count: keys.length, id: "compare-metrics" });
}
