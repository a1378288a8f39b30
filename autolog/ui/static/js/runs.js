// The runs of one experiment: filter (search_runs syntax), sort, pick columns, fold child runs
// under their parent, select runs to compare. Sort, columns and filter live in the URL, so a
// view can be shared and the back button undoes a filter.

import { api, ApiError } from "./api.js";
import { announce, h, icon } from "./dom.js";
import { compareValues, formatCount, toNumber } from "./format.js";
import { href, replaceQuery } from "./app.js";
import { RunGrid, buildColumns } from "./grid.js";
import { sweepRows, sweepView } from "./sweeps.js";

const LIVE_EVERY_MS = 5000;
const MAX_COMPARE = 12;
const expandedBy = new Map(); // experiment -> Set of parent ids unfolded, for this tab

export async function runsPage(ctx) {
  const [experiment] = ctx.params;
  const filter = ctx.query.get("filter") || "";
  const showDeleted = ctx.query.get("deleted") === "1";
  ctx.setTitle(experiment);
  ctx.setCrumbs([{ label: "Experiments", href: "#/" }, { label: experiment }]);

  let data;
  let filterError = "";
  try {
    data = await api.runs(experiment, filter, { signal: ctx.signal }, showDeleted);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 400 && filter)) throw error;
    filterError = error.message;
    data = await api.runs(experiment, "", { signal: ctx.signal }, showDeleted);
  }
  const state = {
    experiment,
    filter,
    data: prepare(data),
    sort: parseSort(ctx.query.get("sort")),
    columns: chosenColumns(ctx.query.get("cols"), experiment, data),
    selected: loadSelection(experiment),
    showDeleted,
    sweep: { metric: ctx.query.get("metric") || undefined, direction: ctx.query.get("best") || undefined, x: ctx.query.get("x") || undefined },
    bestId: null,
    expanded: expandedBy.get(experiment) || new Set(),
  };
  expandedBy.set(experiment, state.expanded);

  const page = h("div", { class: "page" });
  const compareButton = h("button", { class: "btn btn-primary", type: "button", onclick: () => openCompare(state) },
    icon("compare"), h("span", {}, "Compare"));
  const clearButton = h("button", { class: "btn btn-ghost", type: "button", onclick: () => {
    state.selected.clear();
    selectionChanged();
  } }, "Clear selection");
  const footer = h("div", { class: "grid-foot", role: "status" });
  const grid = new RunGrid({
    label: `Runs of ${experiment}`,
    hrefFor: (run) => href(`/runs/${run.id}`),
    isSelected: (run) => state.selected.has(run.id),
    isBest: (run) => run.id === state.bestId,
    holdsBest: (run, expanded) => !expanded && run.id === state.bestParent,
    onOpen: (run) => { location.hash = href(`/runs/${run.id}`); },
    onSelect: (run) => {
      if (state.selected.has(run.id)) state.selected.delete(run.id);
      else state.selected.add(run.id);
      selectionChanged();
      announce(`${run.name} ${state.selected.has(run.id) ? "selected" : "not selected"}`);
    },
    onExpand: (run) => {
      if (state.expanded.has(run.id)) state.expanded.delete(run.id);
      else state.expanded.add(run.id);
      draw();
    },
    onSort: (id) => {
      const column = state.columnsBuilt.find((c) => c.id === id);
      state.sort = state.sort.id === id ? { id, desc: !state.sort.desc } : { id, desc: id === "start" };
      saveQuery(state);
      draw();
      announce(`Sorted by ${column?.label || id}, ${state.sort.desc ? "descending" : "ascending"}`);
    },
  });
  ctx.onDispose(() => grid.destroy());

  function selectionChanged() {
    saveSelection(experiment, state.selected);
    grid.refresh();
    updateFooter();
  }

  function updateFooter() {
    const count = [...state.selected].filter((id) => state.data.byId.has(id)).length;
    compareButton.disabled = count < 2 || count > MAX_COMPARE;
    compareButton.lastChild.textContent = count >= 2 ? `Compare ${count} runs` : "Compare";
    compareButton.title = count < 2 ? "Select two or more runs to compare" : count > MAX_COMPARE ? `Compare at most ${MAX_COMPARE} runs at once` : "";
    clearButton.hidden = count === 0;
    const shown = state.data.runs.length;
    footer.replaceChildren(
      h("span", {}, filter && !filterError
        ? `${formatCount(shown)} of ${formatCount(state.data.total)} runs match`
        : `${formatCount(shown)} run${shown === 1 ? "" : "s"}`),
      count ? h("span", {}, `${count} selected`) : h("span", { class: "hide-narrow" }, "Select runs with their checkbox or Space to compare them"));
  }

  const emptyNote = h("p", { class: "card-empty", hidden: true });
  function draw() {
    state.columnsBuilt = buildColumns(state.columns, state.data);
    grid.update(flatten(state), state.columnsBuilt, state.sort);
    emptyNote.hidden = state.data.runs.length > 0;
    emptyNote.textContent = filter && !filterError ? "No run matches this filter." : "No runs in this experiment yet.";
    updateFooter();
    performance.mark("runs-table-rendered");
    document.body.dataset.rendered = "runs";
  }

  const picker = columnPicker(state, () => {
    saveColumns(experiment, state.columns);
    saveQuery(state);
    draw();
  });
  const running = state.data.runs.filter((r) => r.status === "RUNNING").length;
  const byStatus = (status) => state.data.runs.filter((r) => r.status === status).length;
  const statusNote = (status, label) => {
    const count = byStatus(status);
    return count ? h("span", { class: `status status-${status}` }, `${count} ${label}`) : null;
  };
  page.append(
    h("div", { class: "page-head" },
      h("div", { class: "title" },
        h("h1", { tabindex: "-1" }, experiment),
        h("div", { class: "meta" },
          h("span", {}, `${formatCount(state.data.total)} run${state.data.total === 1 ? "" : "s"}`),
          statusNote("RUNNING", "running"), statusNote("FAILED", "failed"), statusNote("KILLED", "killed")))),
    h("div", { class: "toolbar" },
      filterForm(state, filterError, ctx.onDispose),
      h("div", { class: "toolbar-actions" },
        h("label", { class: "toggle" }, h("input", { type: "checkbox", class: "check", name: "deleted", checked: showDeleted, onchange: (event) => {
          const query = currentQuery(state);
          query.deleted = event.target.checked ? "1" : "";
          location.hash = href(`/experiments/${encodeURIComponent(experiment)}`, query);
        } }), "Show deleted"),
        picker.button, clearButton, compareButton)),
    h("div", { class: "card grid-card" }, grid.wrap, emptyNote, footer),
    picker.popover);
  const sweepSlot = h("div");
  page.insertBefore(sweepSlot, page.querySelector(".grid-card"));
  function drawSweep() {
    const rows = sweepRows(state.data, (run) => run.m.some((v) => v !== null));
    const view = sweepView(rows, {
      hrefFor: (row) => href(`/runs/${row.id}`),
      state: state.sweep,
      onChange: () => { saveQuery(state); },
      onBest: (best) => {
        const id = best ? best.id : null;
        if (id !== state.bestId) {
          state.bestId = id;
          // A folded parent of the best run carries the mark too, so it is found either way.
          state.bestParent = best ? state.data.byId.get(best.id)?.parent || null : null;
          grid.refresh();
        }
      },
    });
    sweepSlot.replaceChildren(view || "");
  }
  ctx.main.replaceChildren(page);
  draw();
  // The table first; the sweep (thousands of SVG lines for a big experiment) right after.
  // Its mark ("runs-sweep-rendered", after layout) is what bench/bench_ui.py times as the
  // page fully drawn.
  const sweepTimer = setTimeout(() => {
    drawSweep();
    sweepSlot.getBoundingClientRect();
    performance.mark("runs-sweep-rendered");
    document.body.dataset.sweep = "drawn";
  }, 0);
  ctx.onDispose(() => clearTimeout(sweepTimer));

  if (running) {
    const timer = setInterval(async () => {
      try {
        const fresh = await api.runs(experiment, filterError ? "" : filter, { signal: ctx.signal }, showDeleted);
        state.data = prepare(fresh);
        drawSweep();
        draw();
        if (!state.data.runs.some((r) => r.status === "RUNNING")) clearInterval(timer);
      } catch {
        /* a failed refresh keeps what is shown */
      }
    }, LIVE_EVERY_MS);
    ctx.onDispose(() => clearInterval(timer));
  }
}

/** Index runs by id and their children by parent; API values become numbers. */
function prepare(data) {
  const byId = new Map();
  for (const run of data.runs) {
    run.m = run.m.map(toNumber);
    byId.set(run.id, run);
  }
  const children = new Map();
  for (const run of data.runs) {
    if (run.parent && byId.has(run.parent)) {
      if (!children.has(run.parent)) children.set(run.parent, []);
      children.get(run.parent).push(run);
    }
  }
  return { ...data, byId, children };
}

/** Rows in display order: sorted top-level runs, each followed by its unfolded children. */
function flatten(state) {
  const column = state.columnsBuilt.find((c) => c.id === state.sort.id) || state.columnsBuilt[2];
  const direction = state.sort.desc ? -1 : 1;
  const order = (a, b) => {
    const x = column.sortValue(a);
    const y = column.sortValue(b);
    const missingX = x === null || x === undefined;
    const missingY = y === null || y === undefined;
    if (missingX || missingY) return missingX === missingY ? 0 : missingX ? 1 : -1;
    const nanX = typeof x === "number" && Number.isNaN(x);
    const nanY = typeof y === "number" && Number.isNaN(y);
    if (nanX || nanY) return nanX === nanY ? 0 : nanX ? 1 : -1;
    return direction * compareValues(x, y) || b.start - a.start || (a.id < b.id ? -1 : 1);
  };
  // Under the default newest-first order, a parent's children read in the order they ran.
  const childOrder = state.sort.id === "start" && state.sort.desc
    ? (a, b) => a.start - b.start || (a.id < b.id ? -1 : 1)
    : order;
  const { byId, children } = state.data;
  const rows = [];
  const add = (run, depth) => {
    const kids = children.get(run.id);
    const expanded = Boolean(kids) && state.expanded.has(run.id);
    rows.push({ run, depth, children: kids ? kids.length : 0, expanded });
    if (expanded) for (const child of [...kids].sort(childOrder)) add(child, depth + 1);
  };
  const top = state.data.runs.filter((run) => !(run.parent && byId.has(run.parent)));
  for (const run of top.sort(order)) add(run, 0);
  return rows;
}

function filterForm(state, error, onDispose) {
  const errorId = "filter-error";
  const input = h("input", {
    class: "input", type: "search", name: "filter", value: state.filter, spellcheck: "false",
    autocomplete: "off", placeholder: "metrics.loss < 0.5 and params.optimizer = 'adam'",
    "aria-label": "Filter runs", "aria-describedby": `filter-help ${errorId}`,
    "aria-invalid": error ? "true" : "false",
  });
  const form = h("form", {
    class: "filter", role: "search",
    onsubmit: (event) => {
      event.preventDefault();
      const query = currentQuery(state);
      query.filter = input.value.trim();
      location.hash = href(`/experiments/${encodeURIComponent(state.experiment)}`, query);
    },
  },
  h("div", { class: "filter-row" }, input, h("button", { class: "btn", type: "submit" }, "Filter")),
  h("div", { class: "filter-error", id: errorId, role: "alert" }, error || ""),
  h("p", { class: "filter-help", id: "filter-help" },
    "Same syntax as ", h("code", {}, "search_runs"), ": ",
    h("code", {}, "metrics.KEY"), ", ", h("code", {}, "params.KEY"), ", ", h("code", {}, "tags.KEY"),
    ", ", h("code", {}, "attributes.status"), ", joined with ", h("code", {}, "and"), ".",
    h("span", { class: "hide-narrow" }, " Press / to come back here.")));
  const focusShortcut = (event) => {
    if (event.key === "/" && !event.target.closest("input, textarea, select")) {
      event.preventDefault();
      input.focus();
    }
  };
  document.addEventListener("keydown", focusShortcut);
  onDispose(() => document.removeEventListener("keydown", focusShortcut));
  return form;
}

function columnPicker(state, changed) {
  const popover = h("div", { class: "popover", role: "dialog", "aria-label": "Choose columns", hidden: true });
  const button = h("button", {
    class: "btn", type: "button", "aria-haspopup": "dialog", "aria-expanded": "false",
    onclick: () => (popover.hidden ? open() : close()),
  }, icon("columns"), h("span", {}, "Columns"));
  const search = h("input", { class: "input", type: "search", placeholder: "Find a param or metric", "aria-label": "Find a column" });
  const body = h("div", { class: "popover-body" });
  const group = (legend, prefix, keys) => {
    if (!keys.length) return null;
    return h("fieldset", {}, h("legend", {}, legend), keys.map((key) => {
      const id = prefix + key;
      return h("label", { class: "option", dataset: { key: key.toLowerCase() } },
        h("input", {
          type: "checkbox", class: "check", checked: state.columns.includes(id),
          onchange: (event) => {
            state.columns = event.target.checked ? [...state.columns, id] : state.columns.filter((c) => c !== id);
            changed();
          },
        }), key);
    }));
  };
  const fill = () => body.replaceChildren(
    group("Metrics", "m:", state.data.metric_keys) || "",
    group("Params", "p:", state.data.param_keys) || "",
    state.data.metric_keys.length + state.data.param_keys.length ? "" : h("p", { class: "card-empty" }, "These runs have no params or metrics."));
  search.addEventListener("input", () => {
    const text = search.value.toLowerCase();
    for (const option of body.querySelectorAll(".option")) option.hidden = !option.dataset.key.includes(text);
  });
  popover.append(
    h("div", { class: "popover-head" }, search), body,
    h("div", { class: "popover-foot" },
      h("button", { class: "btn btn-ghost", type: "button", onclick: () => {
        state.columns = defaultColumns(state.data);
        fill();
        changed();
      } }, "Reset"),
      h("button", { class: "btn", type: "button", onclick: () => close() }, "Done")));
  const outside = (event) => {
    if (!popover.contains(event.target) && !button.contains(event.target)) close(false);
  };
  const escape = (event) => {
    if (event.key === "Escape") close();
  };
  function open() {
    fill();
    const box = button.getBoundingClientRect();
    popover.hidden = false;
    const width = popover.offsetWidth;
    popover.style.top = `${box.bottom + window.scrollY + 6}px`;
    popover.style.left = `${Math.max(12, Math.min(box.right - width, window.innerWidth - width - 12)) + window.scrollX}px`;
    button.setAttribute("aria-expanded", "true");
    document.addEventListener("pointerdown", outside);
    popover.addEventListener("keydown", escape);
    search.focus();
  }
  function close(returnFocus = true) {
    popover.hidden = true;
    button.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", outside);
    popover.removeEventListener("keydown", escape);
    if (returnFocus) button.focus();
  }
  return { button, popover };
}

function openCompare(state) {
  const ids = [...state.selected].filter((id) => state.data.byId.has(id));
  location.hash = href("/compare", { runs: ids.join(","), experiment: state.experiment });
}

function parseSort(text) {
  if (!text) return { id: "start", desc: true };
  return text.startsWith("-") ? { id: text.slice(1), desc: true } : { id: text, desc: false };
}

function currentQuery(state) {
  return {
    filter: state.filter,
    sort: state.sort.id === "start" && state.sort.desc ? "" : `${state.sort.desc ? "-" : ""}${state.sort.id}`,
    cols: state.columns.map(encodeURIComponent).join(","),
    deleted: state.showDeleted ? "1" : "",
    metric: state.sweep?.metric || "",
    best: state.sweep?.direction || "",
    x: state.sweep?.x || "",
  };
}

function saveQuery(state) {
  replaceQuery(currentQuery(state));
}

/** Columns from the URL, else this experiment's last choice, else a sensible few. */
function chosenColumns(fromUrl, experiment, data) {
  if (fromUrl !== null && fromUrl !== undefined) {
    return fromUrl ? fromUrl.split(",").map(decodeURIComponent) : [];
  }
  try {
    const saved = JSON.parse(localStorage.getItem(`autolog.columns.${experiment}`));
    if (Array.isArray(saved)) return saved;
  } catch {
    /* no saved choice */
  }
  return defaultColumns(data);
}

/** Params whose values differ between the runs that set them and metrics most runs share,
 * as many as fit the window beside the fixed columns (about 130 px each). */
function defaultColumns(data) {
  const counts = (keys, values) => keys.map((key, index) => {
    const seen = new Set();
    let present = 0;
    for (const run of data.runs) {
      const value = values(run)[index];
      if (value !== null && value !== undefined) {
        present += 1;
        seen.add(String(value));
      }
    }
    return { key, present, distinct: seen.size };
  });
  const withValues = Math.max(1, data.runs.filter((r) => r.m.some((v) => v !== null) || r.p.some((v) => v !== null)).length);
  const params = counts(data.param_keys, (r) => r.p)
    .filter((p) => p.distinct > 1 || data.runs.length === 1)
    .sort((a, b) => b.present - a.present || a.distinct - b.distinct || a.key.localeCompare(b.key));
  const metrics = counts(data.metric_keys, (r) => r.m)
    .filter((m) => m.present * 2 >= withValues)
    .sort((a, b) => b.present - a.present || a.key.localeCompare(b.key));
  const room = Math.max(3, Math.floor((window.innerWidth - 640) / 130));
  const paramCount = Math.min(params.length, Math.max(1, Math.floor(room / 2)));
  const metricCount = Math.min(metrics.length, room - paramCount);
  return [...params.slice(0, paramCount + Math.max(0, room - paramCount - metricCount)).map((p) => `p:${p.key}`),
    ...metrics.slice(0, metricCount).map((m) => `m:${m.key}`)];
}

function saveColumns(experiment, columns) {
  try {
    localStorage.setItem(`autolog.columns.${experiment}`, JSON.stringify(columns));
  } catch {
    /* private mode: the URL still holds the choice */
  }
}

function loadSelection(experiment) {
  try {
    return new Set(JSON.parse(sessionStorage.getItem(`autolog.selected.${experiment}`)) || []);
  } catch {
    return new Set();
  }
}

function saveSelection(experiment, selected) {
  try {
    sessionStorage.setItem(`autolog.selected.${experiment}`, JSON.stringify([...selected]));
  } catch {
    /* selection then lasts for this page only */
  }
}
