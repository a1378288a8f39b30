// The first page: every experiment, with how many runs it has and when it last moved.

import { api } from "./api.js";
import { h } from "./dom.js";
import { formatAgo, formatCount, formatFullTime } from "./format.js";
import { href } from "./app.js";

export async function experimentsPage(ctx) {
  ctx.setTitle("Experiments");
  ctx.setCrumbs([{ label: "Experiments" }]);
  const { experiments } = await api.experiments();
  const totalRuns = experiments.reduce((sum, e) => sum + e.runs, 0);
  const running = experiments.reduce((sum, e) => sum + e.running, 0);

  const head = h("div", { class: "page-head" },
    h("div", { class: "title" },
      h("h1", { tabindex: "-1" }, "Experiments"),
      h("div", { class: "meta" },
        h("span", {}, `${formatCount(experiments.length)} experiment${experiments.length === 1 ? "" : "s"}`),
        h("span", {}, `${formatCount(totalRuns)} run${totalRuns === 1 ? "" : "s"}`),
        running ? h("span", { class: "status status-RUNNING" }, `${running} running`) : null)));

  if (!experiments.length) {
    ctx.main.replaceChildren(h("div", { class: "page" }, head, emptyState()));
    document.body.dataset.rendered = "experiments";
    return;
  }
  const rows = experiments.map((experiment) => {
    const link = href(`/experiments/${encodeURIComponent(experiment.name)}`);
    return h("tr", {
      class: experiment.runs ? "" : "zero",
      onclick: (event) => {
        if (event.target.closest("a")) return;
        location.hash = link;
      },
    },
    h("td", { class: "name" }, h("a", { href: link }, experiment.name)),
    h("td", { class: "num" }, formatCount(experiment.runs)),
    h("td", { class: "num hide-narrow" },
      experiment.running ? h("span", { class: "status status-RUNNING" }, `${experiment.running}`) : h("span", { class: "faint" }, "—")),
    h("td", { class: "num", title: formatFullTime(experiment.last_activity) },
      experiment.last_activity ? formatAgo(experiment.last_activity) : "—"));
  });
  const table = h("table", { class: "table experiments" },
    h("caption", { class: "sr-only" }, "Experiments, most recently active first"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"),
      h("th", { scope: "col", class: "num" }, "Runs"),
      h("th", { scope: "col", class: "num hide-narrow" }, "Running"),
      h("th", { scope: "col", class: "num" }, "Last activity"))),
    h("tbody", {}, rows));
  ctx.main.replaceChildren(h("div", { class: "page" }, head, h("div", { class: "card" }, table)));
  document.body.dataset.rendered = "experiments";
}

function emptyState() {
  return h("div", { class: "empty" },
    h("h2", {}, "No runs yet"),
    h("p", {}, "Add ", h("code", {}, "autolog.autolog()"),
      " to a training script and run it; its runs appear here."));
}
