// One metric at full size, for one run or several overlaid: x as step, wall time or time
// since each run started; drag to zoom (the server sends more detail), double-click to reset.

import { api } from "./api.js";
import { card, h, statusBadge } from "./dom.js";
import { formatCount, formatNumber, toNumber } from "./format.js";
import { href, replaceQuery } from "./app.js";
import { MetricChart, chartColor } from "./chart.js";

const AXES = [["step", "Step"], ["time", "Time"], ["relative", "Relative time"]];

export async function metricPage(ctx) {
  const ids = (ctx.query.get("runs") || "").split(",").filter(Boolean);
  const key = ctx.query.get("key") || "";
  let x = AXES.some(([value]) => value === ctx.query.get("x")) ? ctx.query.get("x") : "step";
  let log = ctx.query.get("scale") === "log";
  let smoothing = Math.min(0.99, Math.max(0, Number(ctx.query.get("smooth")) || 0));
  const also = (ctx.query.get("also") || "").split(",").filter((k) => k && k !== key);
  if (!ids.length || !key) throw new Error("This link names no run or no metric.");
  const runs = await Promise.all(ids.map((id) => api.run(id, { signal: ctx.signal })));
  const first = runs[0];
  ctx.setTitle(`${key} · ${runs.length === 1 ? first.name : `${runs.length} runs`}`);
  ctx.setCrumbs([
    { label: "Experiments", href: "#/" },
    { label: first.experiment, href: href(`/experiments/${encodeURIComponent(first.experiment)}`) },
    runs.length === 1 ? { label: first.name, href: href(`/runs/${first.id}`) } : { label: `${runs.length} runs`, href: href("/compare", { runs: ids.join(",") }) },
    { label: key },
  ]);
  // One series per run and metric: the metric, then any overlaid with it (train and val).
  const chartRuns = [key, ...also].flatMap((k, keyIndex) => runs.map((run, index) => ({
    id: run.id, name: run.name, status: run.status, start: run.start, key: k,
    color: chartColor(index + keyIndex * runs.length),
  })));
  const keys = [...new Set(runs.flatMap((run) => run.metrics.map((m) => m.key)))].sort();
  // A log scale needs every value above zero; the run summaries know each minimum.
  const positive = runs.every((run) => [key, ...also].every((k) => {
    const metric = run.metrics.find((m) => m.key === k);
    return !metric || toNumber(metric.min) > 0;
  }));
  log &&= positive;
  const query = () => ({
    runs: ids.join(","), key, x: x === "step" ? "" : x, scale: log ? "log" : "",
    smooth: smoothing ? String(smoothing) : "", also: also.join(","),
  });

  const note = h("p", { class: "chart-note", role: "status" });
  const target = h("div");
  const reset = h("button", { class: "btn btn-ghost", type: "button", hidden: true, onclick: () => chart.zoom(null) }, "Reset zoom");
  let chart = null;
  const makeChart = () => {
    chart?.destroy();
    chart = new MetricChart(target, {
      key, runs: chartRuns, x, log, smoothing, height: Math.max(280, Math.min(460, window.innerHeight - 360)),
      onDetail: ({ shown, total, sampled, zoomed }) => {
        reset.hidden = !zoomed;
        note.textContent = `${formatCount(shown)} of ${formatCount(total)} points shown${sampled ? " (downsampled, extremes kept; zoom in for every point)" : ""}${zoomed ? " · zoomed" : ""}`;
      },
    });
    chart.load();
  };
  const axisButtons = AXES.map(([value, label]) => h("button", {
    type: "button", "aria-pressed": String(value === x),
    onclick: () => {
      x = value;
      axisButtons.forEach((button, index) => button.setAttribute("aria-pressed", String(AXES[index][0] === x)));
      replaceQuery(query());
      makeChart();
    },
  }, label));
  const picker = h("select", {
    class: "input", "aria-label": "Metric",
    onchange: (event) => { location.hash = href("/metric", { ...query(), key: event.target.value, scale: "" }); },
  }, keys.map((k) => h("option", { value: k, selected: k === key }, k)));

  const legend = chartRuns.length > 1 ? h("div", { class: "legend", "aria-label": "Legend" }, chartRuns.map((run) =>
    h("span", { class: "item" }, h("span", { class: "swatch", style: `--c:${run.color}` }),
      h("span", {}, also.length ? (runs.length > 1 ? `${run.name} · ${run.key}` : run.key) : run.name)))) : null;
  const overlay = h("select", {
    class: "input", "aria-label": "Overlay another metric", name: "overlay",
    onchange: (event) => {
      if (event.target.value) location.hash = href("/metric", { ...query(), also: [...also, event.target.value].join(",") });
    },
  }, h("option", { value: "" }, "+ Overlay a metric"),
  keys.filter((k) => k !== key && !also.includes(k)).map((k) => h("option", { value: k }, k)));
  const clearOverlay = also.length ? h("a", { class: "btn btn-ghost", href: href("/metric", { ...query(), also: "" }) }, `Only ${key}`) : null;
  const smoothValue = h("output", { class: "smooth-value" }, smoothing ? smoothing.toFixed(2) : "off");
  const smoother = h("label", { class: "diff-toggle", title: "Exponential moving average; hover still shows the logged values" }, "Smoothing",
    h("input", {
      type: "range", min: "0", max: "0.99", step: "0.01", value: String(smoothing), name: "smoothing", "aria-label": "Smoothing",
      oninput: (event) => {
        smoothing = Number(event.target.value);
        smoothValue.textContent = smoothing ? smoothing.toFixed(2) : "off";
        chart.setSmoothing(smoothing);
        replaceQuery(query());
      },
    }), smoothValue);
  const download = h("button", {
    class: "btn", type: "button", name: "download-csv",
    onclick: async () => {
      const text = await chart.csv();
      const link = h("a", { href: URL.createObjectURL(new Blob([text], { type: "text/csv" })), download: `${[key, ...also].join("+")}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    },
  }, "Download CSV");
  const summary = runs.map((run, index) => {
    const m = run.metrics.find((item) => item.key === key);
    return h("tr", {},
      h("th", { scope: "row", class: "nowrap" }, h("span", { class: "run-name" }, h("span", { class: "swatch", style: `--c:${chartRuns[index].color}` }), h("a", { href: href(`/runs/${run.id}`) }, run.name))),
      h("td", {}, statusBadge(run.status)),
      h("td", { class: "num" }, m ? formatNumber(m.latest) : "—"),
      h("td", { class: "num" }, m ? formatNumber(m.min) : "—"),
      h("td", { class: "num" }, m ? formatNumber(m.max) : "—"),
      h("td", { class: "num hide-narrow" }, m ? formatCount(m.count) : "—"));
  });
  ctx.main.replaceChildren(h("div", { class: "page" },
    h("div", { class: "page-head" },
      h("div", { class: "title" },
        h("h1", { tabindex: "-1", class: "mono-title" }, [key, ...also].join(" + ")),
        h("div", { class: "meta" }, runs.length === 1 ? h("a", { href: href(`/runs/${first.id}`) }, first.name) : `${runs.length} runs overlaid`))),
    h("div", { class: "chart-toolbar" },
      keys.length > 1 ? picker : null,
      keys.length > 1 ? overlay : null,
      clearOverlay,
      h("div", { class: "segmented", role: "group", "aria-label": "X axis" }, axisButtons),
      h("label", { class: "diff-toggle", title: positive ? "" : "A log scale needs values above zero" },
        h("input", {
          type: "checkbox", class: "check", checked: log, disabled: !positive,
          onchange: (event) => {
            log = event.target.checked;
            replaceQuery(query());
            makeChart();
          },
        }), "Log scale"),
      smoother,
      download,
      reset,
      h("span", { class: "hint" }, "Drag across the chart to zoom · double-click to zoom out")),
    h("section", { class: "card big-chart", "aria-label": `Chart of ${key}` }, target, legend, note),
    h("div", { style: "height:20px" }),
    card("Runs", h("div", { class: "table-scroll" }, h("table", { class: "kv" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Run"), h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col", class: "num" }, "Latest"), h("th", { scope: "col", class: "num" }, "Min"),
        h("th", { scope: "col", class: "num" }, "Max"), h("th", { scope: "col", class: "num hide-narrow" }, "Points"))),
      h("tbody", {}, summary))), { id: "metric-runs", count: runs.length })));
  makeChart();
  ctx.onDispose(() => chart?.destroy());
  document.body.dataset.rendered = "metric";
}
