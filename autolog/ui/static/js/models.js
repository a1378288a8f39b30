// The model registry pages, and the links MLflow prints, opened in our pages.
//
//   #/models                          registered models: versions, aliases, last change
//   #/models/NAME                     one model: its versions, aliases, source runs
//   #/models/NAME/versions/N          one version
//   #/experiments/ID                  MLflow's experiment link: opens that experiment's runs
//
// The registry pages read /ui-api/models (autolog/ui/api.py), which answers in the
// JSON shape of MLflow's registry API from whichever registry the UI shows: the local
// store's (`autolog ui`) or the server's (`autolog server`, where versions MLflow's
// client registered appear too). MLflow's experiment link asks the server's REST API.

import { h } from "./dom.js";
import { formatAgo, formatFullTime } from "./format.js";
import { href } from "./app.js";
import { ApiError, getJSON } from "./api.js";

async function rest(path, params, signal) {
  const query = new URLSearchParams(params);
  let response;
  try {
    response = await fetch(`/api/2.0/mlflow/${path}?${query}`, { signal, headers: { Accept: "application/json" } });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("Cannot reach the server. Is it still running?", 0);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(body?.message || `${response.status} ${response.statusText}`, response.status);
  }
  return body;
}

const modelHref = (name) => href(`/models/${encodeURIComponent(name)}`);
const versionHref = (name, version) => href(`/models/${encodeURIComponent(name)}/versions/${version}`);
const when = (ms) => h("span", { title: formatFullTime(ms) }, ms ? formatAgo(ms) : "—");
const aliasChips = (aliases) => aliases.map((alias) => h("span", { class: "alias-chip" }, `@${alias}`));

function table(caption, headings, rows) {
  return h("div", { class: "card" }, h("table", { class: "table models" },
    h("caption", { class: "sr-only" }, caption),
    h("thead", {}, h("tr", {}, headings.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows)));
}

function runLink(version) {
  return version.run_id ? h("a", { href: href(`/runs/${encodeURIComponent(version.run_id)}`) }, version.run_id.slice(0, 12)) : "—";
}

export async function modelsPage(ctx) {
  ctx.setTitle("Models");
  ctx.setCrumbs([{ label: "Experiments", href: "#/" }, { label: "Models" }]);
  const { registered_models: models } = await getJSON("models", {}, ctx);
  const rows = models.map((model) => {
    const newest = Math.max(0, ...(model.latest_versions || []).map((v) => Number(v.version)));
    return h("tr", {},
      h("td", { class: "name" }, h("a", { href: modelHref(model.name) }, model.name)),
      h("td", { class: "num" }, newest ? h("a", { href: versionHref(model.name, newest) }, `v${newest}`) : "—"),
      h("td", {}, aliasChips((model.aliases || []).map((a) => `${a.alias} → v${a.version}`))),
      h("td", { class: "num" }, when(model.last_updated_timestamp)));
  });
  const head = h("div", { class: "page-head" }, h("div", { class: "title" },
    h("h1", { tabindex: "-1" }, "Models"),
    h("div", { class: "meta" }, h("span", {}, `${models.length} registered model${models.length === 1 ? "" : "s"}`))));
  const body = models.length
    ? table("Registered models", ["Name", "Latest", "Aliases", "Updated"], rows)
    : h("div", { class: "empty" }, h("h2", {}, "No registered models yet"),
      h("p", {}, "Register one with ", h("code", {}, "autolog.register_model(run_id, name)"), " or ", h("code", {}, "mlflow.register_model"), "."));
  ctx.main.replaceChildren(h("div", { class: "page" }, head, body));
  document.body.dataset.rendered = "models";
}

export async function modelPage(ctx) {
  const [name] = ctx.params;
  ctx.setTitle(name);
  ctx.setCrumbs([{ label: "Models", href: "#/models" }, { label: name }]);
  const { registered_model: model, model_versions: versions } =
    await getJSON(`models/${encodeURIComponent(name)}`, {}, ctx);
  const rows = versions.map((v) => h("tr", { dataset: { version: v.version } },
    h("td", { class: "name" }, h("a", { href: versionHref(name, v.version) }, `v${v.version}`)),
    h("td", {}, aliasChips(v.aliases || [])),
    h("td", {}, runLink(v)),
    h("td", {}, v.current_stage && v.current_stage !== "None" ? v.current_stage : "—"),
    h("td", { class: "num" }, when(v.creation_timestamp))));
  const head = h("div", { class: "page-head" }, h("div", { class: "title" },
    h("h1", { tabindex: "-1" }, name),
    h("div", { class: "meta" },
      h("span", {}, `${versions.length} version${versions.length === 1 ? "" : "s"}`),
      model.description ? h("span", {}, model.description) : null)));
  ctx.main.replaceChildren(h("div", { class: "page" }, head,
    table(`Versions of ${name}`, ["Version", "Aliases", "Source run", "Stage", "Registered"], rows)));
  document.body.dataset.rendered = "model";
}

export async function modelVersionPage(ctx) {
  const [name, version] = ctx.params;
  ctx.setTitle(`${name} v${version}`);
  ctx.setCrumbs([{ label: "Models", href: "#/models" }, { label: name, href: modelHref(name) }, { label: `v${version}` }]);
  const { model_version: v } =
    await getJSON(`models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`, {}, ctx);
  const item = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
  const details = h("dl", { class: "details" },
    item("Aliases", v.aliases?.length ? aliasChips(v.aliases) : "—"),
    item("Source run", runLink(v)),
    item("Source", h("code", {}, v.source)),
    item("Logged model", v.model_id ? h("code", {}, v.model_id) : "—"),
    item("Stage", v.current_stage || "None"),
    item("Registered", when(v.creation_timestamp)),
    item("Load it", h("code", {}, `autolog.load_model("models:/${name}/${v.version}")`)),
    (v.tags || []).length ? item("Tags", v.tags.map((t) => h("div", {}, `${t.key} = ${t.value}`))) : null);
  ctx.main.replaceChildren(h("div", { class: "page" },
    h("div", { class: "page-head" }, h("div", { class: "title" }, h("h1", { tabindex: "-1" }, `${name} v${v.version}`))),
    h("div", { class: "card" }, details)));
  document.body.dataset.rendered = "model-version";
}

/** MLflow's #/experiments/ID: the runs of the experiment with that id (or, failing that, that name). */
export async function mlflowExperimentPage(ctx, runsPage) {
  const [id] = ctx.params;
  let name = null;
  try {
    name = (await rest("experiments/get", { experiment_id: id }, ctx.signal)).experiment.name;
  } catch (error) {
    if (error.name === "AbortError" || error.status !== 404) throw error;
  }
  if (name === null || name === id) return runsPage(ctx);
  location.replace(href(`/experiments/${encodeURIComponent(name)}`));
}
