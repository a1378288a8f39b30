// Sweeps: which hyperparameters give the best metric. For a set of runs (an experiment, or a
// parent's children): parallel coordinates over the params that vary, coloured by a chosen
// metric; a scatter of any param or metric against a metric; the best run by that metric
// (lower is better for losses, errors, AIC/BIC..., higher for accuracy, R², AUC...; changeable),
// marked everywhere. Drawn as SVG: a few hundred lines at most, text stays crisp, no library.

import { h } from "./dom.js";
import { formatNumber, toNumber } from "./format.js";

const NS = "http://www.w3.org/2000/svg";
const LOWER = /(loss|err|error|aic|bic|hqic|mse|rmse|mae|mape|sse|perplexity|deviance|nll|cost|regret|time|latency|wer|cer)/i;
const HIGHER = /(acc|accuracy|r2|auc|f1|precision|recall|score|llf|likelihood|iou|dice|bleu|rouge|map|ndcg|reward|return)/i;

/** "min" or "max": which way a metric is better, guessed from its name. */
export function inferDirection(key) {
  const name = key.split(/[./]/).pop();
  if (LOWER.test(name)) return "min";
  if (HIGHER.test(name)) return "max";
  return "min";
}

/** Rows {id, name, params, metrics} from the columnar runs payload (optionally some only). */
export function sweepRows(data, keep = () => true) {
  return data.runs.filter(keep).map((run) => ({
    id: run.id,
    name: run.name,
    status: run.status,
    params: Object.fromEntries(data.param_keys.map((k, i) => [k, run.p[i]]).filter(([, v]) => v !== null && v !== undefined)),
    metrics: Object.fromEntries(data.metric_keys.map((k, i) => [k, toNumber(run.m[i])]).filter(([, v]) => v !== null)),
  }));
}

/** Params with more than one value among the runs that set them, most often set first. */
export function varyingParams(rows) {
  const values = new Map();
  for (const row of rows) {
    for (const [key, value] of Object.entries(row.params)) {
      if (!values.has(key)) values.set(key, { seen: new Set(), present: 0 });
      values.get(key).seen.add(value);
      values.get(key).present += 1;
    }
  }
  return [...values.entries()].filter(([, v]) => v.seen.size > 1)
    .sort((a, b) => b[1].present - a[1].present || a[0].localeCompare(b[0])).map(([key]) => key);
}

/** Metrics most of the runs have, most common first. */
export function sharedMetrics(rows) {
  const counts = new Map();
  for (const row of rows) for (const key of Object.keys(row.metrics)) counts.set(key, (counts.get(key) || 0) + 1);
  return [...counts.entries()].filter(([, n]) => n * 2 >= rows.length)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([key]) => key);
}

const MAX_DRAWN = 1000;

/** The ``count`` best rows by ``metric`` (rows without a finite value last). */
function bestRows(rows, metric, direction, count) {
  const score = (row) => {
    const value = row.metrics[metric];
    if (value === undefined || !Number.isFinite(value)) return Infinity;
    return direction === "min" ? value : -value;
  };
  return [...rows].sort((a, b) => score(a) - score(b)).slice(0, count);
}

/** The run with the best finite value of ``metric``, or null. */
export function bestRun(rows, metric, direction) {
  let best = null;
  for (const row of rows) {
    const value = row.metrics[metric];
    if (value === undefined || !Number.isFinite(value)) continue;
    if (!best || (direction === "min" ? value < best.metrics[metric] : value > best.metrics[metric])) best = row;
  }
  return best;
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== null && value !== undefined) el.setAttribute(key, value);
  for (const child of children) if (child) el.append(typeof child === "string" ? document.createTextNode(child) : child);
  return el;
}

/** A scale for one axis: numbers linearly, anything else as evenly spaced sorted categories. */
function axisScale(values) {
  const numbers = values.map((v) => (typeof v === "number" ? v : Number(v)));
  if (values.length && numbers.every((n) => Number.isFinite(n))) {
    const low = Math.min(...numbers);
    const high = Math.max(...numbers);
    const span = high - low || 1;
    return { numeric: true, at: (v) => (Number(v) - low) / span, ticks: [low, (low + high) / 2, high].filter((t, i, a) => a.indexOf(t) === i), label: formatNumber };
  }
  const categories = [...new Set(values.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const step = categories.length > 1 ? 1 / (categories.length - 1) : 0;
  return { numeric: false, at: (v) => (categories.length > 1 ? categories.indexOf(String(v)) * step : 0.5), ticks: categories, label: (t) => t };
}

/** Blue (best) to amber (worst) for a value in [0, 1] where 0 is best. */
function ramp(t) {
  const a = [37, 99, 235];
  const b = [245, 158, 11];
  const mix = a.map((c, i) => Math.round(c + (b[i] - c) * t));
  return `rgb(${mix.join(" ")})`;
}

function colourer(rows, metric, direction) {
  const values = rows.map((r) => r.metrics[metric]).filter((v) => Number.isFinite(v));
  const low = Math.min(...values);
  const high = Math.max(...values);
  return (row) => {
    const value = row.metrics[metric];
    if (!Number.isFinite(value)) return "var(--text-faint, #8a909a)";
    const t = high === low ? 0 : (value - low) / (high - low);
    return ramp(direction === "min" ? t : 1 - t);
  };
}

let measure = null;

/** The width of ``text`` in the charts' 11 px tick font, for the plate drawn behind it. */
function textWidth(text) {
  if (!measure) {
    measure = document.createElement("canvas").getContext("2d");
    measure.font = `11px ${getComputedStyle(document.body).fontFamily}`;
  }
  return Math.ceil(measure.measureText(text).width);
}

function shortLabel(text, max = 14) {
  const value = String(text);
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/** Parallel coordinates: one vertical axis per varying param, the metric last. */
function parallelChart(rows, params, metric, direction, best, hrefFor) {
  const axes = [...params, `metric:${metric}`];
  const width = Math.max(520, axes.length * 130);
  const height = 300;
  const top = 34;
  const bottom = 28;
  const left = 80;
  const right = 90;
  const x = (i) => left + (axes.length > 1 ? (i * (width - left - right)) / (axes.length - 1) : 0);
  const value = (row, axis) => (axis.startsWith("metric:") ? row.metrics[axis.slice(7)] : row.params[axis]);
  const scales = axes.map((axis) => axisScale(rows.map((r) => value(r, axis)).filter((v) => v !== undefined && (typeof v !== "number" || Number.isFinite(v)))));
  const y = (scale, v) => top + (1 - scale.at(v)) * (height - top - bottom);
  const colour = colourer(rows, metric, direction);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "sweep-svg parallel", role: "img", "aria-label": `Parallel coordinates of ${params.join(", ")} and ${metric}` });
  const lines = svg("g", { class: "lines" });
  const ordered = [...rows.filter((r) => r !== best), ...(best ? [best] : [])];
  for (const row of ordered) {
    const points = [];
    axes.forEach((axis, i) => {
      const v = value(row, axis);
      if (v === undefined || (typeof v === "number" && !Number.isFinite(v))) return;
      points.push(`${x(i).toFixed(1)},${y(scales[i], v).toFixed(1)}`);
    });
    if (points.length < 2) continue;
    const line = svg("polyline", {
      points: points.join(" "), fill: "none", stroke: colour(row),
      "stroke-width": row === best ? 4 : 1.6, "stroke-opacity": row === best ? 1 : 0.7,
      class: row === best ? "best-line" : null, "data-run": row.id,
    }, svg("title", {}, `${row.name}: ${metric} ${formatNumber(row.metrics[metric])}`));
    line.addEventListener("click", () => { location.hash = hrefFor(row); });
    lines.append(line);
  }
  chart.append(lines);
  axes.forEach((axis, i) => {
    const scale = scales[i];
    const group = svg("g", { class: "axis" });
    group.append(svg("line", { x1: x(i), x2: x(i), y1: top, y2: height - bottom, stroke: "currentColor", "stroke-opacity": 0.5 }));
    const name = axis.startsWith("metric:") ? axis.slice(7) : axis;
    group.append(svg("text", { x: x(i), y: 16, "text-anchor": "middle", class: "axis-title", "data-axis": name }, svg("title", {}, name), shortLabel(name, 18)));
    const ticks = scale.ticks.length > 8 ? scale.ticks.filter((_, k) => k % Math.ceil(scale.ticks.length / 8) === 0) : scale.ticks;
    // Labels go where no line runs: left of the first axis, right of the last. Lines cross
    // both sides of a middle axis, so its labels sit right of it on a plate that hides them.
    const first = i === 0;
    const middle = !first && i < axes.length - 1;
    for (const tick of ticks) {
      const label = shortLabel(scale.label(tick), 14);
      const tx = first ? x(i) - 6 : x(i) + 6;
      const ty = y(scale, tick);
      if (middle) group.append(svg("rect", { x: tx - 3, y: ty - 8, width: textWidth(label) + 6, height: 16, rx: 3, class: "tick-plate" }));
      group.append(svg("text", { x: tx, y: ty + 4, "text-anchor": first ? "end" : "start", class: "tick" }, svg("title", {}, String(tick)), label));
    }
    chart.append(group);
  });
  return chart;
}

/** A scatter of ``xKey`` (a param or a metric) against metric ``yKey``. */
function scatterChart(rows, xKey, yKey, colour, best, hrefFor) {
  const width = 560;
  const height = 320;
  const pad = { left: 78, right: 24, top: 16, bottom: 52 };
  const xValue = (row) => (xKey.startsWith("m:") ? row.metrics[xKey.slice(2)] : row.params[xKey.slice(2)]);
  const plotted = rows.filter((r) => {
    const xv = xValue(r);
    const yv = r.metrics[yKey];
    return xv !== undefined && Number.isFinite(yv) && (typeof xv !== "number" || Number.isFinite(xv));
  });
  const xs = axisScale(plotted.map(xValue));
  const ys = axisScale(plotted.map((r) => r.metrics[yKey]));
  const px = (v) => pad.left + xs.at(v) * (width - pad.left - pad.right);
  const py = (v) => pad.top + (1 - ys.at(v)) * (height - pad.top - pad.bottom);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "sweep-svg scatter", role: "img", "aria-label": `${yKey} against ${xKey.slice(2)}` });
  chart.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: height - pad.bottom, y2: height - pad.bottom, stroke: "currentColor", "stroke-opacity": 0.4 }));
  chart.append(svg("line", { x1: pad.left, x2: pad.left, y1: pad.top, y2: height - pad.bottom, stroke: "currentColor", "stroke-opacity": 0.4 }));
  const xTicks = xs.ticks.length > 8 ? xs.ticks.filter((_, k) => k % Math.ceil(xs.ticks.length / 8) === 0) : xs.ticks;
  for (const tick of xTicks) chart.append(svg("text", { x: px(tick), y: height - pad.bottom + 18, "text-anchor": "middle", class: "tick" }, shortLabel(xs.label(tick), 12)));
  for (const tick of ys.ticks) chart.append(svg("text", { x: pad.left - 8, y: py(tick) + 4, "text-anchor": "end", class: "tick" }, shortLabel(ys.label(tick), 10)));
  chart.append(svg("text", { x: (pad.left + width - pad.right) / 2, y: height - 12, "text-anchor": "middle", class: "axis-title" }, xKey.slice(2)));
  chart.append(svg("text", { x: 14, y: (pad.top + height - pad.bottom) / 2, "text-anchor": "middle", class: "axis-title", transform: `rotate(-90 14 ${(pad.top + height - pad.bottom) / 2})` }, yKey));
  for (const row of plotted) {
    const dot = svg("circle", {
      cx: px(xValue(row)).toFixed(1), cy: py(row.metrics[yKey]).toFixed(1), r: row === best ? 7 : 4.5,
      fill: colour(row), stroke: row === best ? "var(--text)" : "none", "stroke-width": 2,
      class: row === best ? "best-dot" : "dot", "data-run": row.id,
    }, svg("title", {}, `${row.name}\n${xKey.slice(2)} ${typeof xValue(row) === "number" ? formatNumber(xValue(row)) : xValue(row)}\n${yKey} ${formatNumber(row.metrics[yKey])}`));
    dot.addEventListener("click", () => { location.hash = hrefFor(row); });
    chart.append(dot);
  }
  return chart;
}

/**
 * The sweep view for ``rows``. ``state`` ({metric, direction, x}) is kept by the caller so a
 * redraw keeps the choice; ``onBest(row)`` lets the caller mark the best run elsewhere.
 */
export function sweepView(allRows, { hrefFor, state = {}, onChange = () => {}, onBest = () => {} }) {
  let rows = allRows;
  const params = varyingParams(rows);
  const metrics = sharedMetrics(rows);
  const allMetrics = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].sort();
  const container = h("section", { class: "card sweep", "aria-labelledby": "sweep-title" });
  if (!metrics.length || rows.length < 2) return null;
  if (!allMetrics.includes(state.metric)) state.metric = metrics[0];
  if (!state.direction) state.direction = inferDirection(state.metric);
  if (!state.x) state.x = params.length ? `p:${params[0]}` : `m:${metrics.find((m) => m !== state.metric) || metrics[0]}`;

  const select = (label, name, options, value, onchange) => h("label", { class: "sweep-control" }, h("span", {}, label),
    h("select", { class: "input", name, onchange: (event) => onchange(event.target.value) },
      options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))));
  const body = h("div", { class: "sweep-body" });

  function draw() {
    const best = bestRun(allRows, state.metric, state.direction);
    // Beyond MAX_DRAWN runs the charts show the best MAX_DRAWN: past that, lines are a blur.
    rows = allRows.length > MAX_DRAWN ? bestRows(allRows, state.metric, state.direction, MAX_DRAWN) : allRows;
    onBest(best, state);
    const colour = colourer(rows, state.metric, state.direction);
    const bestNote = best
      ? h("p", { class: "sweep-best", "data-best": best.id }, h("span", { class: "best-mark", "aria-hidden": "true" }, "★"), " Best ",
        h("strong", {}, state.metric), ` (${state.direction === "min" ? "lowest" : "highest"}): `,
        h("a", { href: hrefFor(best) }, best.name), ` ${formatNumber(best.metrics[state.metric])}`,
        params.length ? h("span", { class: "faint" }, `  ·  ${params.map((p) => `${p} = ${best.params[p] ?? "—"}`).join(", ")}`) : null)
      : h("p", { class: "sweep-best" }, `No run has a finite ${state.metric}.`);
    body.replaceChildren(...[
      bestNote,
      rows.length < allRows.length ? h("p", { class: "faint sweep-cap" }, `Charts show the ${rows.length} best of ${allRows.length} runs by ${state.metric}.`) : null,
      h("div", { class: "sweep-charts" },
        params.length
          ? h("figure", { class: "sweep-figure" }, h("figcaption", {}, `Parallel coordinates: ${params.length} param${params.length === 1 ? "" : "s"} that vary, coloured by ${state.metric} (blue is best)`),
            h("div", { class: "sweep-scroll" }, parallelChart(rows, params, state.metric, state.direction, best, hrefFor)))
          : h("p", { class: "card-empty" }, "No param varies between these runs."),
        h("figure", { class: "sweep-figure" }, h("figcaption", {}, `${state.metric} against ${state.x.slice(2)}`),
          h("div", { class: "sweep-scroll" }, scatterChart(rows, state.x, state.metric, colour, best, hrefFor)))),
    ].filter(Boolean)); // replaceChildren would show a null as the text "null"
  }

  const controls = h("div", { class: "sweep-controls" },
    select("Metric", "sweep-metric", allMetrics.map((m) => [m, m]), state.metric, (v) => {
      state.metric = v;
      state.direction = inferDirection(v);
      directionSelect.querySelector("select").value = state.direction;
      onChange(state);
      draw();
    }),
    null,
    select("Scatter x", "sweep-x", [...params.map((p) => [`p:${p}`, `param ${p}`]), ...allMetrics.map((m) => [`m:${m}`, `metric ${m}`])], state.x, (v) => {
      state.x = v;
      onChange(state);
      draw();
    }));
  const directionSelect = select("Best is", "sweep-direction", [["min", "lowest"], ["max", "highest"]], state.direction, (v) => {
    state.direction = v;
    onChange(state);
    draw();
  });
  controls.insertBefore(directionSelect, controls.children[1]);
  container.append(h("div", { class: "card-head" }, h("h2", { id: "sweep-title" }, "Sweep"), controls), body);
  draw();
  return container;
}
