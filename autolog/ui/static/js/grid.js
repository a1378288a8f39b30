// The runs table: a treegrid that only puts the rows in view into the DOM.
//
// 5,000 runs times a dozen columns would be 60,000 cells to lay out on every sort; here the
// table keeps two spacer rows sized to the rows it leaves out, and re-renders the ~40 in
// view on scroll. One row is focusable at a time (roving tabindex): arrows move, Enter
// opens the run, Space selects it, Right/Left unfold and fold its child runs.

import { h, icon, statusBadge } from "./dom.js";
import { formatDuration, formatFullTime, formatNumber, formatTime } from "./format.js";

const OVERSCAN = 12;

export class RunGrid {
  /**
   * @param {object} options
   *   columns: [{id, label, kind, width, numeric, value(run) -> cell}]
   *   sort: {id, desc}; onSort(id); onOpen(run); onSelect(run); onExpand(run)
   *   isSelected(run), hrefFor(run), label
   */
  constructor(options) {
    this.options = options;
    this.rows = [];
    this.active = 0;
    this.rowHeight = 41;
    this.window = [-1, -1];
    this.wrap = h("div", { class: "grid-wrap" });
    this.table = h("table", {
      class: "grid", role: "treegrid", "aria-label": options.label, "aria-multiselectable": "true",
    });
    this.colgroup = h("colgroup");
    this.thead = h("thead");
    this.tbody = h("tbody");
    this.table.append(this.colgroup, this.thead, this.tbody);
    this.wrap.append(this.table);
    this.wrap.addEventListener("scroll", () => this.schedule(), { passive: true });
    this.tbody.addEventListener("click", (event) => this.onClick(event));
    this.tbody.addEventListener("dblclick", (event) => {
      const row = this.rowOf(event.target);
      if (row && !event.target.closest("a, input, button, label")) this.options.onOpen(row.run);
    });
    this.tbody.addEventListener("keydown", (event) => this.onKey(event));
    this.resize = new ResizeObserver(() => this.schedule(true));
    this.resize.observe(this.wrap);
  }

  /** Show ``rows`` ([{run, depth, children, expanded}]) with ``columns`` and ``sort``. */
  update(rows, columns, sort) {
    this.rows = rows;
    this.columns = columns;
    this.sort = sort;
    this.active = Math.min(this.active, Math.max(0, rows.length - 1));
    this.table.setAttribute("aria-rowcount", String(rows.length + 1));
    this.wrap.classList.toggle("short", rows.length < 12);
    this.renderHead();
    this.window = [-1, -1];
    this.renderBody(true);
  }

  destroy() {
    this.resize.disconnect();
    cancelAnimationFrame(this.frame);
  }

  schedule(force = false) {
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(() => this.renderBody(force));
  }

  renderHead() {
    const focused = document.activeElement?.closest?.(".sort-btn")?.dataset.column;
    const cols = [h("col", { style: "width:44px" }), ...this.columns.map((c) => h("col", { style: `width:${c.width}px` }))];
    this.colgroup.replaceChildren(...cols);
    const select = h("th", { class: "select sticky-1", scope: "col" }, h("span", { class: "sr-only" }, "Selected"));
    const cells = this.columns.map((column, index) => {
      const sorted = this.sort.id === column.id;
      const classes = [column.numeric ? "num" : "", index === 0 ? "sticky-2" : ""].join(" ");
      const label = column.kind
        ? h("span", { class: "label" }, h("span", { class: "kind" }, column.kind), h("span", { class: "key", title: column.label }, column.label))
        : h("span", { class: "label" }, column.label);
      return h("th", {
        scope: "col", class: classes,
        "aria-sort": sorted ? (this.sort.desc ? "descending" : "ascending") : "none",
      },
      h("button", {
        class: "sort-btn", type: "button", dataset: { column: column.id },
        title: `Sort by ${column.kind ? `${column.kind} ` : ""}${column.label}`,
        onclick: () => this.options.onSort(column.id),
      },
      column.numeric ? h("span", { class: "arrow", "aria-hidden": "true" }, sorted ? (this.sort.desc ? "↓" : "↑") : "") : null,
      label,
      column.numeric ? null : h("span", { class: "arrow", "aria-hidden": "true" }, sorted ? (this.sort.desc ? "↓" : "↑") : "")));
    });
    this.thead.replaceChildren(h("tr", { "aria-rowindex": "1" }, select, cells));
    if (focused) {
      [...this.thead.querySelectorAll(".sort-btn")].find((b) => b.dataset.column === focused)?.focus();
    }
  }

  renderBody(force = false) {
    const headHeight = this.thead.offsetHeight || 48;
    const view = this.wrap.clientHeight || 800;
    const top = Math.max(0, this.wrap.scrollTop - headHeight);
    const first = Math.max(0, Math.floor(top / this.rowHeight) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + view) / this.rowHeight) + OVERSCAN);
    if (!force && first === this.window[0] && last === this.window[1]) return;
    this.window = [first, last];
    const hadFocus = this.tbody.contains(document.activeElement);
    const span = this.columns.length + 1;
    const spacer = (height) => h("tr", { class: "spacer", "aria-hidden": "true" },
      h("td", { colspan: String(span), style: `height:${height}px` }));
    const rows = [];
    for (let index = first; index < last; index += 1) rows.push(this.renderRow(index));
    this.tbody.replaceChildren(
      spacer(first * this.rowHeight), ...rows, spacer((this.rows.length - last) * this.rowHeight));
    const measured = rows[0]?.getBoundingClientRect().height;
    if (measured && Math.abs(measured - this.rowHeight) > 0.5) {
      this.rowHeight = measured;
      this.schedule(true);
    }
    if (hadFocus) this.focusActive(false);
  }

  renderRow(index) {
    const { run, depth, children, expanded } = this.rows[index];
    const selected = this.options.isSelected(run);
    const best = this.options.isBest?.(run);
    const row = h("tr", {
      class: `row${depth ? " child" : ""}${best ? " best" : ""}${run.deleted ? " deleted" : ""}`,
      title: best ? "Best run by the sweep's metric" : run.deleted ? "Deleted: restore it from its page" : null,
      "aria-rowindex": String(index + 2),
      "aria-level": String(depth + 1),
      "aria-selected": selected ? "true" : "false",
      "aria-expanded": children ? (expanded ? "true" : "false") : null,
      tabindex: index === this.active ? "0" : "-1",
      dataset: { index: String(index) },
    });
    const checkbox = h("input", {
      type: "checkbox", class: "check", tabindex: "-1", checked: selected,
      "aria-label": `Select ${run.name}`,
    });
    row.append(h("td", { class: "select sticky-1" }, h("label", {}, checkbox)));
    this.columns.forEach((column, position) => {
      const cell = column.id === "name" ? this.nameCell(run, depth, children, expanded) : column.render(run);
      const td = h("td", { class: `${column.numeric ? "num" : ""}${position === 0 ? " sticky-2" : ""}` }, cell);
      if (column.title) td.title = column.title(run);
      row.append(td);
    });
    return row;
  }

  nameCell(run, depth, children, expanded) {
    const parts = [];
    for (let level = 0; level < depth; level += 1) parts.push(h("span", { class: "indent", "aria-hidden": "true" }));
    if (children) {
      parts.push(h("button", {
        class: "twisty", type: "button", tabindex: "-1", "aria-expanded": expanded ? "true" : "false",
        "aria-label": `${expanded ? "Fold" : "Unfold"} ${children} child run${children === 1 ? "" : "s"} of ${run.name}`,
      }, icon("chevron")));
    } else if (!depth) {
      parts.push(h("span", { class: "twisty-spacer" }));
    }
    if (this.options.isBest?.(run)) parts.push(h("span", { class: "best-mark", title: "Best run" }, "★"));
    parts.push(h("a", { href: this.options.hrefFor(run), tabindex: "-1", title: run.name }, run.name));
    if (run.deleted) parts.push(h("span", { class: "deleted-mark" }, "deleted"));
    if (children) parts.push(h("span", { class: "kids", "aria-hidden": "true" }, String(children)));
    if (children && this.options.holdsBest?.(run, expanded)) {
      parts.push(h("span", { class: "best-inside", title: "The best run is among these children" }, "★ best inside"));
    }
    return h("div", { class: "run-name" }, parts);
  }

  rowOf(target) {
    const tr = target.closest("tr.row");
    if (!tr) return null;
    const index = Number(tr.dataset.index);
    return { index, run: this.rows[index].run, tr };
  }

  onClick(event) {
    const row = this.rowOf(event.target);
    if (!row) return;
    this.setActive(row.index, false);
    if (event.target.closest(".twisty")) {
      this.options.onExpand(row.run);
    } else if (event.target.closest("td.select")) {
      if (event.target.tagName !== "INPUT") event.preventDefault();
      this.options.onSelect(row.run);
    }
  }

  onKey(event) {
    const row = this.rowOf(event.target);
    if (!row) return;
    const page = Math.max(1, Math.floor(this.wrap.clientHeight / this.rowHeight) - 2);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    const entry = this.rows[row.index];
    if (event.key in moves) {
      this.setActive(row.index + moves[event.key]);
    } else if (event.key === "Home") {
      this.setActive(0);
    } else if (event.key === "End") {
      this.setActive(this.rows.length - 1);
    } else if (event.key === "Enter") {
      this.options.onOpen(row.run);
    } else if (event.key === " ") {
      this.options.onSelect(row.run);
    } else if (event.key === "ArrowRight" && entry.children && !entry.expanded) {
      this.options.onExpand(row.run);
    } else if (event.key === "ArrowLeft" && entry.children && entry.expanded) {
      this.options.onExpand(row.run);
    } else if (event.key === "ArrowLeft" && entry.depth) {
      const parent = this.rows.findIndex((r) => r.run.id === row.run.parent);
      if (parent >= 0) this.setActive(parent);
    } else {
      return;
    }
    event.preventDefault();
  }

  setActive(index, focus = true) {
    this.active = Math.max(0, Math.min(this.rows.length - 1, index));
    const headHeight = this.thead.offsetHeight || 48;
    const top = this.active * this.rowHeight;
    const visibleTop = this.wrap.scrollTop;
    const visibleBottom = visibleTop + this.wrap.clientHeight - headHeight;
    if (top < visibleTop) this.wrap.scrollTop = top;
    else if (top + this.rowHeight > visibleBottom) this.wrap.scrollTop = top + this.rowHeight - (this.wrap.clientHeight - headHeight);
    this.renderBody(true);
    if (focus) this.focusActive(true);
  }

  focusActive(scroll) {
    for (const tr of this.tbody.querySelectorAll("tr.row")) {
      const isActive = Number(tr.dataset.index) === this.active;
      tr.tabIndex = isActive ? 0 : -1;
      if (isActive) tr.focus({ preventScroll: !scroll });
    }
  }

  /** Re-render after selection or expansion changed, keeping scroll and focus. */
  refresh() {
    this.renderBody(true);
  }
}

/** The fixed columns, then one per chosen param and metric. */
export function buildColumns(chosen, data) {
  const columns = [
    { id: "name", label: "Name", width: nameWidth(data.runs), render: () => null, sortValue: (r) => r.name.toLowerCase() },
    { id: "status", label: "Status", width: 118, render: (r) => statusBadge(r.status), sortValue: (r) => r.status },
    {
      id: "start", label: "Started", width: 158, numeric: true, render: (r) => formatTime(r.start),
      title: (r) => formatFullTime(r.start), sortValue: (r) => r.start,
    },
    {
      id: "duration", label: "Duration", width: 104, numeric: true,
      render: (r) => formatDuration(r.start, r.end), sortValue: (r) => (r.end ?? Date.now()) - r.start,
    },
  ];
  for (const id of chosen) {
    const kind = id.slice(0, 2);
    const key = id.slice(2);
    if (kind === "p:") {
      const index = data.param_keys.indexOf(key);
      if (index < 0) continue;
      const values = data.runs.map((r) => r.p[index]);
      const numeric = values.every((v) => v === null || v === "" || !Number.isNaN(Number(v)));
      columns.push({
        id, label: key, kind: "param", numeric, width: textWidth(key, values),
        render: (r) => cellText(r.p[index]), title: (r) => r.p[index] ?? "", sortValue: (r) => r.p[index],
      });
    } else if (kind === "m:") {
      const index = data.metric_keys.indexOf(key);
      if (index < 0) continue;
      columns.push({
        id, label: key, kind: "metric", numeric: true, width: Math.min(200, Math.max(108, key.length * 7.4 + 34)),
        render: (r) => cellText(r.m[index] === null ? null : formatNumber(r.m[index])),
        title: (r) => (r.m[index] === null ? "" : String(r.m[index])), sortValue: (r) => r.m[index],
      });
    }
  }
  return columns;
}

function cellText(value) {
  return value === null || value === undefined ? h("span", { class: "missing" }, "—") : String(value);
}

function nameWidth(runs) {
  let longest = 8;
  for (const run of runs) if (run.name.length > longest) longest = run.name.length;
  const narrow = window.innerWidth < 720;
  return Math.round(Math.min(narrow ? 200 : 360, Math.max(narrow ? 150 : 220, longest * 7.6 + 96)));
}

function textWidth(key, values) {
  let longest = key.length;
  for (let i = 0; i < values.length && i < 2000; i += 1) {
    const length = values[i] === null ? 1 : String(values[i]).length;
    if (length > longest) longest = length;
  }
  return Math.round(Math.min(260, Math.max(96, longest * 7.4 + 30)));
}
