// The run page's Datasets card: what the run trained on (GET /ui-api/runs/{id}/datasets)
// and, per digest, the other runs that used the very same data.

import { getJSON } from "./api.js";
import { card, h, statusBadge } from "./dom.js";
import { href } from "./app.js";

/** A card that fills itself in once the datasets arrive; nothing shows for a run without any. */
export function datasetsCard(runId, { signal } = {}) {
  const slot = h("div", { id: "datasets-slot" });
  getJSON(`runs/${encodeURIComponent(runId)}/datasets`, {}, { signal })
    .then((body) => {
      if (body.datasets.length) slot.replaceChildren(render(body.datasets));
    })
    .catch(() => {});  // an older server without the endpoint: the page shows the rest
  return slot;
}

function render(datasets) {
  return card("Datasets", h("ul", { class: "run-links datasets" }, datasets.map(item)),
    { count: datasets.length, id: "datasets" });
}

function item(dataset) {
  const same = dataset.same_digest;
  return h("li", { class: "dataset", dataset: { digest: dataset.digest } },
    h("div", {},
      h("strong", {}, dataset.name), " ",
      h("span", { class: "faint" }, dataset.context || ""), " ",
      h("code", { title: dataset.digest }, dataset.digest.slice(0, 12)),
      h("div", { class: "faint dataset-shape" }, describe(dataset))),
    h("div", { class: "same-digest" },
      same.length
        ? [h("span", { class: "faint" }, `Same data in ${same.length} other run${same.length > 1 ? "s" : ""}: `),
          ...same.map((run) => h("span", {}, h("a", { href: href(`/runs/${run.id}`) }, run.name), " ", statusBadge(run.status), " "))]
        : h("span", { class: "faint" }, "No other run trained on this data.")));
}

/** "2000 rows · 20 columns: a (double), b (long)…" or "shape 2000×20 float64". */
function describe(dataset) {
  const parts = [];
  const profile = dataset.profile || {};
  const rows = profile.features_num_rows;
  if (rows !== undefined) parts.push(`${rows} rows`);
  if (profile.features_shape) parts.push(`shape ${profile.features_shape.join("×")}`);
  const columns = dataset.schema?.mlflow_colspec;
  if (columns) {
    const shown = columns.slice(0, 8).map((c) => `${c.name} (${c.type})`).join(", ");
    parts.push(`${columns.length} columns: ${shown}${columns.length > 8 ? "…" : ""}`);
  }
  return parts.join(" · ");
}
