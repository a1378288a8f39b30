// The single-page app: hash routes (linkable, the back button works), one page at a time.
//
//   #/                          experiments
//   #/experiments/NAME?filter=  runs of an experiment (sort, columns, filter in the query)
//   #/runs/ID                   one run
//   #/experiments/EID/runs/ID   one run, by MLflow's route (the "View run" line's URL): the
//                               run id is enough, the address becomes #/runs/ID
//   #/metric?runs=A,B&key=K     one metric, one or several runs
//   #/compare?runs=A,B,C        several runs side by side
//   #/models...                 the model registry, and MLflow's links (models.js)

import { api } from "./api.js";
import { h, errorNotice } from "./dom.js";
import { experimentsPage } from "./experiments.js";
import { runsPage } from "./runs.js";
import { runPage } from "./run.js";
import { metricPage } from "./metric.js";
import { comparePage } from "./compare.js";
import { mlflowExperimentPage, modelPage, modelsPage, modelVersionPage } from "./models.js";

const ROUTES = [
  [/^\/?$/, experimentsPage],
  [/^\/experiments\/(\d+)$/, (ctx) => mlflowExperimentPage(ctx, runsPage)],
  [/^\/models$/, modelsPage],
  [/^\/models\/([^/]+)$/, modelPage],
  [/^\/models\/([^/]+)\/versions\/(\d+)$/, modelVersionPage],
  [/^\/experiments\/([^/]+)$/, runsPage],
  [/^\/runs\/([^/]+)$/, runPage],
  [/^\/experiments\/[^/]+\/runs\/([^/]+)$/, mlflowRunRoute],
  [/^\/metric$/, metricPage],
  [/^\/compare$/, comparePage],
];

/** MLflow's run address, kept working for links printed by autolog or copied from MLflow. */
function mlflowRunRoute(ctx) {
  history.replaceState(history.state, "", href(`/runs/${encodeURIComponent(ctx.params[0])}`));
  return runPage(ctx);
}

const main = document.getElementById("main");
let current = null;
let firstRender = true;

/** A link target inside the app: href("/runs/ID") or href("/metric", {runs, key}). */
export function href(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, value);
  }
  const text = params.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

/** Change the query of the current page without a history entry (sorting, columns). */
export function replaceQuery(query) {
  const [path] = location.hash.slice(1).split("?");
  history.replaceState(history.state, "", href(path || "/", query));
}

function setCrumbs(items) {
  const list = document.getElementById("crumbs");
  list.replaceChildren(
    ...items.map((item, index) => {
      const last = index === items.length - 1;
      const inner = last || !item.href
        ? h("span", { "aria-current": last ? "page" : null, title: item.label }, item.label)
        : h("a", { href: item.href, title: item.label }, item.label);
      return h("li", {}, inner);
    }),
  );
}

async function render() {
  const [rawPath, rawQuery = ""] = location.hash.slice(1).split("?");
  const path = rawPath || "/";
  current?.dispose();
  delete document.body.dataset.rendered;
  delete document.body.dataset.sweep;
  const controller = new AbortController();
  const disposers = [];
  current = {
    dispose() {
      controller.abort();
      for (const dispose of disposers.splice(0)) dispose();
    },
  };
  const route = ROUTES.find(([pattern]) => pattern.test(path));
  const ctx = {
    main,
    signal: controller.signal,
    params: route ? path.match(route[0]).slice(1).map(decodeURIComponent) : [],
    query: new URLSearchParams(rawQuery),
    onDispose: (fn) => disposers.push(fn),
    setCrumbs,
    setTitle: (title) => { document.title = title ? `${title} · autolog` : "autolog"; },
  };
  const slow = setTimeout(() => {
    if (!controller.signal.aborted) main.replaceChildren(h("p", { class: "loading" }, "Loading…"));
  }, 120);
  try {
    if (!route) throw new Error(`There is no page at ${path}.`);
    await route[1](ctx);
  } catch (error) {
    if (error.name === "AbortError" || controller.signal.aborted) return;
    setCrumbs([{ label: "Experiments", href: "#/" }, { label: error.status === 404 ? "Not found" : "Error" }]);
    ctx.setTitle(error.status === 404 ? "Not found" : "Error");
    main.replaceChildren(h("div", { class: "page" },
      h("h1", { tabindex: "-1", class: "sr-only" }, "Something went wrong"), errorNotice(error)));
  } finally {
    clearTimeout(slow);
  }
  if (controller.signal.aborted) return;
  if (!firstRender) {
    const heading = main.querySelector("h1");
    (heading || main).focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
  firstRender = false;
}

async function showSource() {
  try {
    const info = await api.info();
    const label = info.kind === "server" ? "tracking server" : `${info.source}${info.read_only ? " · read-only" : ""}`;
    document.body.dataset.readOnly = info.read_only ? "true" : "false";
    const source = document.getElementById("source");
    source.textContent = label;
    source.title = `${info.source} (autolog ${info.version})`;
  } catch {
    /* the page itself reports a server that cannot be reached */
  }
}

// The skip link must not change the hash: that is the router's.
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", render);
// Charts read their colours from CSS when drawn: redraw when the colour scheme changes.
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", render);
showSource();
render();
