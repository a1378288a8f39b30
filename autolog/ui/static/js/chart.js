// One metric as a line chart (uPlot), for one run or several overlaid.
//
// The server sends at most ~1.5 points per pixel, keeping each slice's lowest and highest
// value, so a million-point history draws as fast as a short one and no spike is lost.
// Dragging across the chart zooms and asks the server again for that range only, which
// brings back every point once the range is narrow enough; a double-click zooms out.
// Hovering shows the exact logged point of each run. While a run is RUNNING the chart
// asks every few seconds for the points logged since, and appends them.

import { api } from "./api.js";
import { h } from "./dom.js";
import { exactNumber, formatCount, formatDuration, formatFullTime, formatNumber } from "./format.js";

const LIVE_EVERY_MS = 3000;
// Steps are whole numbers: ticks at 1, 2, 5, 10, 20, 25, 50, ... never at 2.5.
const STEP_INCREMENTS = Array.from({ length: 13 }, (_, power) => [1, 2, 2.5, 5].map((m) => m * 10 ** power))
  .flat()
  .filter((step) => Number.isInteger(step));
const X_LABELS = { step: "Step", time: "Time", relative: "Time since start" };

export function chartColor(index) {
  const style = getComputedStyle(document.documentElement);
  return style.getPropertyValue(`--chart-${(index % 8) + 1}`).trim() || "#4f46e5";
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export class MetricChart {
  /**
   * runs: [{id, name, status, start, color, key?}]; x: "step" | "time" | "relative".
   * An entry with its own ``key`` draws that metric of the run, so train and val losses
   * (or the same metric of several runs) share one chart.
   * onStatus(runId, status) is told when a live run's status changes.
   */
  constructor(container, { key, runs, x = "step", height = 220, log = false, smoothing = 0, onStatus, onDetail }) {
    this.container = container;
    this.log = log;
    this.smoothing = smoothing; // EMA weight in [0, 1): 0 draws the logged values
    this.key = key;
    this.runs = runs;
    this.x = x;
    this.height = height;
    this.onStatus = onStatus;
    this.onDetail = onDetail;
    this.points = new Map(); // run id -> {xs, step, time, value, total, sampled}
    this.range = null;
    this.plot = null;
    this.tip = h("div", { class: "chart-tip", hidden: true, "aria-hidden": "true" });
    this.box = h("div", { class: "chart-plot" });
    container.classList.add("chart");
    container.replaceChildren(this.box, this.tip);
    this.resize = new ResizeObserver(() => this.fit());
    this.resize.observe(container);
    this.request = 0;
  }

  destroy() {
    this.destroyed = true;
    clearInterval(this.timer);
    this.resize.disconnect();
    this.plot?.destroy();
  }

  /** Fetch the view (the whole history, or the zoomed range) and draw it. */
  async load() {
    const request = ++this.request;
    const results = await Promise.all(this.runs.map((run) => this.fetchView(run).catch(() => null)));
    if (this.destroyed || request !== this.request) return;
    this.runs.forEach((run, index) => {
      if (results[index]) this.points.set(seriesId(run), results[index]);
      else this.points.delete(seriesId(run));
    });
    this.draw();
    this.describe();
    this.startLive();
  }

  pointsWanted() {
    const width = this.container.clientWidth || 600;
    return Math.max(200, Math.min(4000, Math.round(width * 1.5)));
  }

  async fetchView(run) {
    const params = { points: this.pointsWanted(), x: this.x === "step" ? "step" : "time" };
    if (this.range) {
      const [low, high] = this.range.map((value) => this.toServerX(run, value));
      params.start = Math.floor(low);
      params.end = Math.ceil(high);
    }
    const body = await api.metric(run.id, run.key || this.key, params);
    return this.withXs(run, body);
  }

  toServerX(run, value) {
    if (this.x === "step") return value;
    if (this.x === "time") return value * 1000;
    return run.start + value * 1000;
  }

  withXs(run, body) {
    const xs = body.step.map((step, i) => {
      if (this.x === "step") return step;
      if (this.x === "time") return body.time[i] / 1000;
      return (body.time[i] - run.start) / 1000;
    });
    if (body.status && body.status !== run.status) {
      run.status = body.status;
      this.onStatus?.(run.id, body.status);
    }
    return { ...body, xs };
  }

  /** Aligned data for uPlot: one x array, one y array per run (undefined where absent). */
  data() {
    const shown = this.runs.filter((run) => this.points.has(seriesId(run)));
    const tables = shown.map((run) => {
      const p = this.points.get(seriesId(run));
      return [p.xs, this.smoothing > 0 ? ema(p.value, this.smoothing) : p.value];
    });
    if (!tables.length) return { shown, data: [[]] };
    if (tables.length === 1) return { shown, data: [tables[0][0], tables[0][1]] };
    return { shown, data: uPlot.join(tables) };
  }

  draw() {
    const { shown, data } = this.data();
    this.shown = shown;
    if (!shown.length) {
      this.plot?.destroy();
      this.plot = null;
      this.box.replaceChildren(h("p", { class: "card-empty" }, "No points."));
      return;
    }
    const signature = `${shown.map(seriesId).join(",")}|${this.x}|${this.log}`;
    if (this.plot && this.signature === signature) {
      this.plot.setData(data, !this.range);
      if (this.range) this.plot.setScale("x", { min: this.range[0], max: this.range[1] });
      return;
    }
    this.plot?.destroy();
    this.signature = signature;
    this.box.replaceChildren();
    this.plot = new uPlot(this.options(shown), data, this.box);
    this.plot.over.addEventListener("dblclick", () => this.zoom(null));
    this.plot.over.addEventListener("mouseleave", () => { this.tip.hidden = true; });
  }

  options(shown) {
    const axis = cssVar("--chart-axis");
    const grid = cssVar("--chart-grid");
    const font = `12px ${cssVar("--font") || "system-ui"}`;
    const few = shown.every((run) => this.points.get(seriesId(run)).value.length <= 40);
    const xValues = this.x === "relative"
      ? (u, values) => values.map((v) => formatDuration(0, v * 1000))
      : this.x === "step" ? (u, values) => values.map((v) => formatNumber(v)) : undefined;
    return {
      width: this.container.clientWidth || 600,
      height: this.height,
      pxAlign: 0,
      padding: [10, 28, 0, 0], // room for the last x label and the top y label: never clipped
      legend: { show: false },
      scales: { x: { time: this.x === "time" }, y: this.log ? { distr: 3, log: 10 } : { auto: true } },
      axes: [
        {
          stroke: axis, font, grid: { stroke: grid, width: 1 }, ticks: { show: false }, gap: 6, size: 32,
          values: xValues, incrs: this.x === "step" ? STEP_INCREMENTS : undefined,
        },
        {
          stroke: axis, font, grid: { stroke: grid, width: 1, ...(this.log ? { filter: logTicks } : {}) }, ticks: { show: false }, gap: 6, size: yAxisSize,
          values: (u, values) => {
            const labels = values.map((v) => (v === null ? null : formatNumber(v)));
            this.container.dataset.yTicks = labels.filter((l) => l !== null).join("|"); // what is labelled
            return labels;
          },
          // On a log axis, label (and draw a line at) powers of ten, plus 2 and 5 when few decades show.
          ...(this.log ? { filter: logTicks } : {}),
        },
      ],
      series: [
        { label: X_LABELS[this.x] },
        ...shown.map((run) => ({
          label: run.key && run.key !== this.key ? `${run.name} · ${run.key}` : run.name,
          stroke: run.color,
          width: 1.75,
          spanGaps: false,
          points: { show: few, size: 5, fill: run.color, stroke: run.color },
        })),
      ],
      cursor: {
        drag: { x: true, y: false, setScale: false },
        points: { size: 8, width: 2, fill: cssVar("--surface") },
        dataIdx: nearestPoint,
        focus: { prox: 24 },
      },
      focus: { alpha: 0.35 },
      hooks: {
        setSelect: [(u) => this.onSelect(u)],
        setCursor: [(u) => this.showTip(u)],
      },
    };
  }

  fit() {
    if (!this.plot) return;
    const width = this.container.clientWidth;
    if (width && Math.abs(width - this.plot.width) > 1) this.plot.setSize({ width, height: this.height });
  }

  onSelect(u) {
    if (u.select.width < 4) return;
    const low = u.posToVal(u.select.left, "x");
    const high = u.posToVal(u.select.left + u.select.width, "x");
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.zoom([low, high]);
  }

  /** Zoom to [low, high] on the x axis (null: everything) and fetch that range's detail. */
  async zoom(range) {
    this.range = range;
    if (range && this.plot) this.plot.setScale("x", { min: range[0], max: range[1] });
    await this.load();
  }

  showTip(u) {
    const index = u.cursor.idx;
    if (index === null || index === undefined || u.cursor.left < 0) {
      this.tip.hidden = true;
      return;
    }
    const rows = [];
    let xText = "";
    this.shown.forEach((run, s) => {
      const i = u.cursor.idxs?.[s + 1] ?? index;
      const value = u.data[s + 1][i];
      if (value === undefined) return;
      const point = this.pointAt(run, u.data[0][i]);
      if (!point) return;
      if (!xText || this.shown.length === 1) xText = this.describeX(point, run);
      const label = this.shown.length > 1 ? u.series[s + 1].label : this.key;
      rows.push(h("div", { class: "row" },
        h("span", { class: "who" }, h("span", { class: "swatch", style: `--c:${run.color}` }), label),
        h("span", { class: "value" }, exactNumber(point.value))));
      if (this.shown.length > 1) rows[rows.length - 1].title = this.describeX(point, run);
    });
    if (!rows.length) {
      this.tip.hidden = true;
      return;
    }
    this.tip.replaceChildren(h("div", { class: "x" }, xText), ...rows);
    this.tip.hidden = false;
    const plotLeft = u.over.offsetLeft;
    const plotTop = u.over.offsetTop;
    const tipWidth = this.tip.offsetWidth;
    let left = plotLeft + u.cursor.left + 14;
    if (left + tipWidth > this.container.clientWidth) left = plotLeft + u.cursor.left - tipWidth - 14;
    this.tip.style.left = `${Math.max(0, left)}px`;
    this.tip.style.top = `${plotTop + Math.max(0, u.cursor.top - 20)}px`;
  }

  /** The logged point of ``run`` at chart x ``x`` (its own arrays are sorted by x). */
  pointAt(run, x) {
    const p = this.points.get(seriesId(run));
    if (!p) return null;
    let low = 0;
    let high = p.xs.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (p.xs[mid] < x) low = mid + 1;
      else high = mid;
    }
    if (p.xs[low] !== x) return null;
    return { step: p.step[low], time: p.time[low], value: p.value[low] };
  }

  describeX(point, run) {
    const relative = formatDuration(run.start, point.time);
    if (this.x === "step") return `step ${formatCount(point.step)} · ${formatFullTime(point.time)}`;
    if (this.x === "relative") return `${relative} in · step ${formatCount(point.step)}`;
    return `${formatFullTime(point.time)} · step ${formatCount(point.step)}`;
  }

  /** What the chart shows, for screen readers and the note under it. */
  describe() {
    const parts = [];
    let sampled = false;
    let shown = 0;
    let total = 0;
    for (const run of this.runs) {
      const p = this.points.get(seriesId(run));
      if (!p) continue;
      shown += p.value.length;
      total += p.total;
      sampled ||= p.sampled;
    }
    parts.push(`Line chart of ${this.key} against ${X_LABELS[this.x].toLowerCase()}`);
    parts.push(this.runs.length > 1 ? `for ${this.runs.map((r) => r.name).join(", ")}` : "");
    this.container.setAttribute("role", "img");
    this.container.setAttribute("aria-label", parts.join(" ").trim());
    this.onDetail?.({ shown, total, sampled, zoomed: Boolean(this.range) });
  }

  startLive() {
    clearInterval(this.timer);
    if (!this.runs.some((run) => run.status === "RUNNING")) return;
    this.timer = setInterval(() => this.poll(), LIVE_EVERY_MS);
  }

  /** Ask for the points logged since the last answer; redraw only if there are any. */
  async poll() {
    if (this.range || this.polling) return;
    this.polling = true;
    let changed = false;
    try {
      for (const run of this.runs.filter((r) => r.status === "RUNNING")) {
        const known = this.points.get(seriesId(run));
        const params = { points: this.pointsWanted(), x: this.x === "step" ? "step" : "time" };
        if (known && !known.sampled) params.after = known.total;
        const body = this.withXs(run, await api.metric(run.id, run.key || this.key, params));
        if (body.append && known) {
          if (!body.value.length) continue;
          const last = known.xs[known.xs.length - 1];
          if (body.xs[0] < last) {
            this.points.set(seriesId(run), await this.fetchView(run));
          } else {
            for (const field of ["xs", "step", "time", "value"]) known[field] = known[field].concat(body[field]);
            known.total = body.total;
          }
        } else {
          this.points.set(seriesId(run), body);
        }
        changed = true;
      }
    } catch {
      /* try again at the next tick */
    } finally {
      this.polling = false;
    }
    if (this.destroyed) return;
    if (changed) {
      this.draw();
      this.describe();
    }
    if (!this.runs.some((run) => run.status === "RUNNING")) clearInterval(this.timer);
  }

  /** Every logged point of every series, at full resolution (up to 20,000 each), as CSV. */
  async csv() {
    const lines = ["run_id,run_name,key,step,timestamp,value"];
    for (const run of this.runs) {
      const key = run.key || this.key;
      const body = await api.metric(run.id, key, { points: 20000, x: "step" });
      body.step.forEach((step, i) => {
        const value = body.value[i];
        lines.push([run.id, csvText(run.name), csvText(key), step, body.time[i], value === null ? "NaN" : value].join(","));
      });
    }
    return `${lines.join("\n")}\n`;
  }

  /** Redraw with EMA weight ``smoothing`` (0 for the logged values). */
  setSmoothing(smoothing) {
    this.smoothing = smoothing;
    if (this.plot) this.plot.setData(this.data().data, !this.range);
  }
}

function seriesId(run) {
  return run.key ? `${run.id}|${run.key}` : run.id;
}

/** Exponential moving average as TensorBoard draws it (debiased, so it starts at the data). */
export function ema(values, weight) {
  const out = new Array(values.length);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    count += 1;
    out[i] = last / (1 - weight ** count);
  }
  return out;
}

function csvText(text) {
  const value = String(text);
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Log-axis ticks worth a label: 10^n always; 2 and 5 times 10^n when at most 3 decades show. */
function logTicks(u, splits) {
  const finite = splits.filter((v) => v > 0);
  const decades = finite.length ? Math.log10(Math.max(...finite) / Math.min(...finite)) : 0;
  return splits.map((v) => {
    if (!(v > 0)) return null;
    const mantissa = Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9));
    return mantissa === 1 || (decades <= 3 && (mantissa === 2 || mantissa === 5)) ? v : null;
  });
}

/** uPlot's cursor index per series: the nearest index where that series has a value. */
function nearestPoint(u, seriesIndex, hovered) {
  const values = u.data[seriesIndex];
  if (values[hovered] !== undefined && values[hovered] !== null) return hovered;
  const xs = u.data[0];
  const x = xs[hovered];
  let before = hovered - 1;
  let after = hovered + 1;
  while (before >= 0 && (values[before] === undefined || values[before] === null)) before -= 1;
  while (after < values.length && (values[after] === undefined || values[after] === null)) after += 1;
  const hasBefore = before >= 0;
  const hasAfter = after < values.length;
  if (hasBefore && hasAfter) return x - xs[before] <= xs[after] - x ? before : after;
  if (hasBefore) return before;
  if (hasAfter) return after;
  return hovered;
}

/** Width of the y axis: enough for its longest label, no more. */
function yAxisSize(u, values, axisIndex, cycleNum) {
  const axis = u.axes[axisIndex];
  if (cycleNum > 1) return axis._size;
  const measure = yAxisSize.canvas ||= document.createElement("canvas").getContext("2d");
  measure.font = axis.font?.[0] || "12px system-ui";
  let widest = 0;
  for (const value of values || []) if (value !== null) widest = Math.max(widest, measure.measureText(String(value)).width);
  return Math.max(40, Math.ceil(widest) + 18);
}
