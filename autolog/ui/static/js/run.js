// One run: a chart per metric, then metrics (latest, min, max), params, artifacts with
// download links, the model's manifest, parent and children, tags.

import { api, artifactUrl } from "./api.js";
import { announce, breakable, card, h, icon, statusBadge } from "./dom.js";
import { formatBytes, formatCount, formatDuration, formatFullTime, formatNumber, formatTime } from "./format.js";
import { href } from "./app.js";
import { MetricChart, chartColor } from "./chart.js";
import { NOTE_TAG, editCard, removeTagButton } from "./edit.js";
import { bestRun, sharedMetrics, sweepRows, sweepView, varyingParams } from "./sweeps.js";
import { datasetsCard } from "./datasets.js";

const FIRST_CHARTS = 12;
const LIVE_EVERY_MS = 3000;

export async function runPage(ctx) {
  const [runId] = ctx.params;
  let run = await api.run(runId, { signal: ctx.signal });
  ctx.setTitle(run.name);
  ctx.setCrumbs([
    { label: "Experiments", href: "#/" },
    { label: run.experiment, href: href(`/experiments/${encodeURIComponent(run.experiment)}`) },
    ...(run.parent ? [{ label: run.parent.name, href: href(`/runs/${run.parent.id}`) }] : []),
    { label: run.name },
  ]);

  const badge = h("span", {}, statusBadge(run.status));
  const duration = h("span", {}, formatDuration(run.start, run.end));
  const metricsCard = h("div");
  const charts = [];
  const redraw = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  // Line charts only for series; a metric logged once (AIC, a test score) is a value.
  const series = run.metrics.filter((m) => m.count > 1);
  const values = run.metrics.filter((m) => m.count <= 1);
  const childrenSlot = h("div");
  const page = h("div", { class: "page" },
    header(run, badge, duration),
    run.deleted ? h("p", { class: "deleted-banner", role: "status" }, "This run is deleted: it is hidden from listings until restored.") : null,
    run.tags[NOTE_TAG] ? h("p", { class: "note-text", "aria-label": "Note" }, run.tags[NOTE_TAG]) : null,
    h("div", { class: "sections" },
      values.length ? valuesCard(values) : null,
      series.length ? chartsSection({ ...run, metrics: groupSeries(series) }, charts, ctx) : null,
      childrenSlot,
      h("div", { class: "two-col" },
        h("div", { class: "stack" }, metricsCard, paramsCard(run.params), tagsCard(run, redraw)),
        h("div", { class: "stack" }, editCard(run, redraw), artifactsCard(run), modelCard(run), datasetsCard(run.id, ctx), relativesCard(run)))));
  metricsCard.replaceChildren(metricsTable(run));
  ctx.main.replaceChildren(page);
  ctx.onDispose(() => charts.forEach((chart) => chart.destroy()));
  // Children load after the page is shown (the router swaps a slow page for "Loading…").
  if (run.children.length) {
    childrenSection(run, childrenSlot, ctx).finally(() => {
      if (!ctx.signal.aborted) document.body.dataset.rendered = "run";
    });
  } else {
    document.body.dataset.rendered = "run";
  }

  if (run.status === "RUNNING") {
    const timer = setInterval(async () => {
      try {
        run = await api.run(runId, { signal: ctx.signal });
      } catch {
        return;
      }
      badge.replaceChildren(statusBadge(run.status));
      duration.textContent = formatDuration(run.start, run.end);
      metricsCard.replaceChildren(metricsTable(run));
      for (const metric of run.metrics) {
        const latest = page.querySelector(`article[data-metric="${CSS.escape(metric.key)}"] .latest`);
        if (latest) latest.textContent = formatNumber(metric.latest);
      }
      if (run.status !== "RUNNING") {
        clearInterval(timer);
        clearInterval(clock);
        announce(`Run ${run.name} ${run.status.toLowerCase()}`);
      }
    }, LIVE_EVERY_MS);
    // The duration of a running run ticks between two polls.
    const clock = setInterval(() => { duration.textContent = formatDuration(run.start, run.end); }, 1000);
    ctx.onDispose(() => {
      clearInterval(timer);
      clearInterval(clock);
    });
  }
}

function header(run, badge, duration) {
  const copy = h("button", {
    class: "id-chip", type: "button", title: "Copy the run id",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(run.id);
        announce("Run id copied");
      } catch {
        announce(`Run id ${run.id}`);
      }
    },
  }, icon("copy"), h("span", {}, run.id.slice(0, 12)), h("span", { class: "sr-only" }, run.id));
  return h("div", { class: "page-head" },
    h("div", { class: "title" },
      h("div", { class: "run-title" }, badge, h("h1", { tabindex: "-1" }, run.name), copy),
      h("div", { class: "meta" },
        h("span", {}, h("span", { class: "label" }, "Experiment"),
          h("a", { href: href(`/experiments/${encodeURIComponent(run.experiment)}`) }, run.experiment)),
        h("span", { title: formatFullTime(run.start) }, h("span", { class: "label" }, "Started"), formatTime(run.start)),
        h("span", {}, h("span", { class: "label" }, "Duration"), duration),
        run.parent ? h("span", {}, h("span", { class: "label" }, "Parent"),
          h("a", { href: href(`/runs/${run.parent.id}`) }, run.parent.name)) : null,
        run.children.length ? h("span", {}, h("span", { class: "label" }, "Children"), String(run.children.length)) : null)),
    run.metrics.length
      ? h("a", { class: "btn", href: href("/metric", { runs: run.id, key: run.metrics[0].key }) }, icon("chart"), "Explore metrics")
      : null);
}

function chartsSection(run, charts, ctx) {
  const grid = h("div", { class: "charts" });
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer.unobserve(entry.target);
      entry.target.startChart();
    }
  }, { rootMargin: "240px" });
  ctx.onDispose(() => observer.disconnect());
  const add = (metric, index) => {
    const target = h("div");
    const note = h("p", { class: "chart-note" });
    const keys = metric.keys || [metric.key];
    const metricHref = href("/metric", { runs: run.id, key: keys[0], also: keys.slice(1).join(",") });
    const cardEl = h("article", { class: "card chart-card", dataset: { metric: keys[0], metrics: keys.join(" ") } },
      h("div", { class: "chart-head" },
        h("h3", { title: keys.join(", ") }, h("a", { href: metricHref }, keys.join(" · "))),
        keys.length === 1 ? h("span", { class: "latest", title: "latest value" }, formatNumber(metric.latest)) : null),
      target,
      keys.length > 1 ? h("div", { class: "legend" }, keys.map((k, i) => h("span", { class: "item" },
        h("span", { class: "swatch", style: `--c:${chartColor(index + i)}` }), h("span", {}, k)))) : null,
      note);
    target.startChart = () => {
      const chart = new MetricChart(target, {
        key: metric.key,
        x: "step",
        height: 180,
        runs: keys.map((k, i) => ({ id: run.id, name: run.name, status: run.status, start: run.start, key: k, color: chartColor(index + i) })),
        onDetail: ({ shown, total, sampled }) => {
          note.textContent = sampled ? `${formatCount(shown)} of ${formatCount(total)} points shown, extremes kept` : `${formatCount(total)} point${total === 1 ? "" : "s"}`;
        },
      });
      charts.push(chart);
      chart.load();
    };
    observer.observe(target);
    grid.append(cardEl);
  };
  run.metrics.slice(0, FIRST_CHARTS).forEach(add);
  const more = run.metrics.length - FIRST_CHARTS;
  const showAll = more > 0
    ? h("button", { class: "btn", type: "button", onclick: () => {
      run.metrics.slice(FIRST_CHARTS).forEach((m, i) => add(m, i + FIRST_CHARTS));
      showAll.remove();
    } }, `Show ${more} more chart${more === 1 ? "" : "s"}`)
    : null;
  return h("section", { "aria-labelledby": "charts-title", class: "stack" },
    h("h2", { id: "charts-title", class: "sr-only" }, "Charts"), grid, showAll);
}

/** Series of one quantity (loss, train_loss, val_loss; train/acc, val/acc) share a chart. */
function groupSeries(metrics) {
  const stem = (key) => key.replace(/^(train|training|val|valid|validation|test|eval)[_/.]/i, "")
    .replace(/[_/.](train|training|val|valid|validation|test|eval)$/i, "");
  const groups = new Map();
  for (const metric of metrics) {
    const name = stem(metric.key);
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(metric);
  }
  return [...groups.values()].map((group) => (group.length === 1 ? group[0]
    : { ...group[0], key: group[0].key, keys: group.map((m) => m.key) }));
}

function metricsTable(run) {
  if (!run.metrics.length) return card("Metrics", h("p", { class: "card-empty" }, "No metrics logged."), { count: 0, id: "metrics" });
  const rows = run.metrics.map((m) => h("tr", {},
    h("th", { scope: "row" }, h("a", { href: href("/metric", { runs: run.id, key: m.key }) }, breakable(m.key))),
    h("td", { class: "num", title: String(m.latest) }, formatNumber(m.latest)),
    h("td", { class: "num", title: String(m.min ?? "") }, formatNumber(m.min)),
    h("td", { class: "num", title: String(m.max ?? "") }, formatNumber(m.max)),
    h("td", { class: "num hide-narrow" }, formatCount(m.count))));
  const table = h("table", { class: "kv metrics-table" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Metric"), h("th", { scope: "col", class: "num" }, "Latest"),
      h("th", { scope: "col", class: "num" }, "Min"), h("th", { scope: "col", class: "num" }, "Max"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Points"))),
    h("tbody", {}, rows));
  return card("Metrics", h("div", { class: "table-scroll" }, table), { count: run.metrics.length, id: "metrics" });
}

function keyValueCard(title, values, id, empty) {
  const keys = Object.keys(values).sort((a, b) => a.localeCompare(b));
  const body = keys.length
    ? h("table", { class: "kv" }, h("tbody", {}, keys.map((key) =>
      h("tr", {}, h("th", { scope: "row" }, breakable(key)), h("td", {}, values[key])))))
    : h("p", { class: "card-empty" }, empty);
  return card(title, body, { count: keys.length, id });
}

function paramsCard(params) {
  return keyValueCard("Params", params, "params", "No params logged.");
}

function tagsCard(run, changed) {
  const keys = Object.keys(run.tags).filter((key) => key !== NOTE_TAG).sort((a, b) => a.localeCompare(b));
  const body = keys.length
    ? h("table", { class: "kv" }, h("tbody", {}, keys.map((key) =>
      h("tr", { dataset: { tag: key } }, h("th", { scope: "row" }, breakable(key)),
        h("td", {}, run.tags[key], removeTagButton(run, key, changed))))))
    : h("p", { class: "card-empty" }, "No tags.");
  return card("Tags", body, { count: keys.length, id: "tags" });
}

/** Metrics logged once, as values: NaN and infinities said as such, never an empty chart. */
function valuesCard(metrics) {
  const tiles = metrics.map((m) => {
    const text = formatNumber(m.latest);
    const nonfinite = typeof m.latest === "string";
    return h("div", { class: "value-tile", dataset: { metric: m.key } },
      h("div", { class: "value-key", title: m.key }, m.key),
      h("div", { class: `value${nonfinite ? " nonfinite" : ""}`, title: String(m.latest) }, text));
  });
  return card("Values", h("div", { class: "values-grid" }, tiles), { count: metrics.length, id: "values" });
}

/** A parent's children: the sweep view and a table of their varying params and metrics. */
async function childrenSection(run, slot, ctx) {
  let data;
  try {
    data = await api.runs(run.experiment, "", { signal: ctx.signal });
  } catch {
    return;
  }
  const rows = sweepRows(data, (r) => r.parent === run.id);
  if (!rows.length) return;
  const state = {};
  const params = varyingParams(rows);
  const metrics = sharedMetrics(rows).slice(0, 6);
  const tableSlot = h("div");
  const compareSlot = h("span");
  const drawTable = (best) => {
    const sorted = [...rows].sort((a, b) => {
      const x = a.metrics[state.metric];
      const y = b.metrics[state.metric];
      const missing = (v) => v === undefined || !Number.isFinite(v);
      if (missing(x) || missing(y)) return missing(x) === missing(y) ? 0 : missing(x) ? 1 : -1;
      return state.direction === "max" ? y - x : x - y;
    });
    compareSlot.replaceChildren(h("a", {
      class: "btn", href: href("/compare", { runs: sorted.slice(0, 12).map((r) => r.id).join(","), experiment: run.experiment }),
      title: rows.length > 12 ? "The 12 best by the sweep's metric" : null,
    }, icon("compare"), rows.length > 12 ? "Compare the 12 best children" : "Compare children"));
    const table = h("table", { class: "table children-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Child run"), h("th", { scope: "col" }, "Status"),
        params.map((p) => h("th", { scope: "col" }, h("span", { class: "faint" }, "param "), p)),
        metrics.map((m) => h("th", { scope: "col", class: "num" }, h("span", { class: "faint" }, "metric "), m)))),
      h("tbody", {}, sorted.map((row) => h("tr", { class: row === best ? "best" : "", dataset: { run: row.id } },
        h("th", { scope: "row" }, row === best ? h("span", { class: "best-mark", title: "Best run" }, "★") : null,
          h("a", { href: href(`/runs/${row.id}`) }, row.name)),
        h("td", {}, statusBadge(row.status)),
        params.map((p) => h("td", {}, row.params[p] ?? "—")),
        metrics.map((m) => h("td", { class: "num", title: String(row.metrics[m] ?? "") }, formatNumber(row.metrics[m])))))));
    tableSlot.replaceChildren(card("Children", h("div", { class: "table-scroll" }, table), { count: rows.length, id: "children", actions: compareSlot }));
  };
  const view = sweepView(rows, { hrefFor: (row) => href(`/runs/${row.id}`), state, onBest: (best) => drawTable(best) });
  if (!view) drawTable(bestRun(rows, metrics[0], "min"));
  slot.replaceChildren(h("div", { class: "stack" }, view, tableSlot));
}

function artifactsCard(run) {
  const files = run.artifacts;
  const body = files.length
    ? h("ul", { class: "artifact-list" }, files.map((file) => h("li", {},
      h("span", { class: "artifact-name" }, icon("file", "file-icon"),
        h("a", { href: artifactUrl(run.id, file.path), download: file.path.split("/").pop(), title: `Download ${file.path}` }, file.path)),
      h("span", { class: "size" }, formatBytes(file.size)))))
    : h("p", { class: "card-empty" }, "No artifacts.");
  return card("Artifacts", body, { count: files.length, id: "artifacts" });
}

function modelCard(run) {
  const model = run.model;
  if (!model) return null;
  const hidden = new Set(["files", "sizes"]);
  const entries = Object.entries(model).filter(([key]) => !hidden.has(key)).sort(([a], [b]) => a.localeCompare(b));
  const files = Object.entries(model.files || {});
  return card("Model", [
    h("dl", { class: "model-meta" }, entries.flatMap(([key, value]) => [
      h("dt", {}, breakable(key)), h("dd", {}, typeof value === "object" ? JSON.stringify(value) : String(value))])),
    files.length ? h("table", { class: "kv" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "File"), h("th", { scope: "col" }, "sha256"))),
      h("tbody", {}, files.map(([name, sha]) => h("tr", {}, h("th", { scope: "row" }, name), h("td", { title: sha }, `${sha.slice(0, 16)}…`))))) : null,
    h("pre", { class: "load-hint" }, `autolog.load_model("${run.id}")`),
  ], { id: "model" });
}

function relativesCard(run) {
  const links = [];
  if (run.parent) links.push(h("li", {}, h("span", {}, h("span", { class: "faint" }, "Parent  "), h("a", { href: href(`/runs/${run.parent.id}`) }, run.parent.name)), statusBadge(run.parent.status)));
  for (const child of run.children) {
    links.push(h("li", {}, h("a", { href: href(`/runs/${child.id}`) }, child.name), statusBadge(child.status)));
  }
  if (!links.length) return null;
  const title = run.children.length ? "Child runs" : "Parent run";
  const compare = run.children.length > 1 && run.children.length <= 12
    ? h("a", { class: "btn btn-ghost", href: href("/compare", { runs: run.children.map((c) => c.id).join(","), experiment: run.experiment }) }, icon("compare"), "Compare")
    : null;
  return card(title, h("ul", { class: "run-links" }, links), { count: run.children.length || undefined, id: "relatives", actions: compare });
}
