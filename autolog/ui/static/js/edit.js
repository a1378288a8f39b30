// Curating one run from its page: rename, note, tags, delete and restore. Every change is one
// POST to /ui-api/runs/ID/edit (a journal record locally, MLflow's calls on a server); the page
// redraws from the run the server answers, so what is shown is what was stored.

import { api } from "./api.js";
import { announce, card, h } from "./dom.js";

export const NOTE_TAG = "mlflow.note.content";

/** The "Curate" card, or null when the UI is read-only. ``changed(run)`` redraws the page. */
export function editCard(run, changed) {
  if (document.body.dataset.readOnly === "true") return null;
  const status = h("p", { class: "edit-status", role: "status" });
  const send = async (body, said) => {
    status.textContent = "Saving…";
    try {
      const fresh = await api.edit(run.id, body);
      status.textContent = said;
      announce(said);
      changed(fresh);
    } catch (error) {
      status.textContent = error.message;
    }
  };

  const nameInput = h("input", { class: "input", name: "run-name", value: run.name, "aria-label": "Run name", maxlength: "250" });
  const renameForm = h("form", { class: "edit-row", onsubmit: (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (name && name !== run.name) send({ name }, `Renamed to ${name}`);
  } }, nameInput, h("button", { class: "btn", type: "submit" }, "Rename"));

  const note = run.tags[NOTE_TAG] || "";
  const noteInput = h("textarea", { class: "input", name: "run-note", rows: "3", "aria-label": "Note", placeholder: "What this run is about, what you learned from it" });
  noteInput.value = note;
  const noteForm = h("form", { class: "stack", onsubmit: (event) => {
    event.preventDefault();
    send({ note: noteInput.value }, noteInput.value.trim() ? "Note saved" : "Note removed");
  } }, noteInput, h("div", { class: "edit-row" }, h("button", { class: "btn", type: "submit" }, "Save note")));

  const keyInput = h("input", { class: "input", name: "tag-key", placeholder: "key", "aria-label": "Tag key" });
  const valueInput = h("input", { class: "input", name: "tag-value", placeholder: "value", "aria-label": "Tag value" });
  const tagForm = h("form", { class: "edit-row", onsubmit: (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (key) send({ set_tags: { [key]: valueInput.value } }, `Tag ${key} set`);
  } }, keyInput, valueInput, h("button", { class: "btn", type: "submit" }, "Add tag"));

  const lifecycle = run.deleted
    ? h("button", { class: "btn", type: "button", name: "restore", onclick: () => send({ deleted: false }, "Run restored") }, "Restore run")
    : h("button", { class: "btn btn-danger", type: "button", name: "delete", onclick: () => {
      if (confirm(`Delete run ${run.name}? It is hidden from listings until you restore it.`)) send({ deleted: true }, "Run deleted");
    } }, "Delete run");
  return card("Curate", [
    h("div", { class: "stack" }, renameForm, noteForm, tagForm, h("div", { class: "edit-row" }, lifecycle), status),
  ], { id: "curate" });
}

/** A remove button for one tag of the tags card. */
export function removeTagButton(run, key, changed) {
  if (document.body.dataset.readOnly === "true") return null;
  return h("button", {
    class: "tag-remove", type: "button", title: `Remove tag ${key}`, "aria-label": `Remove tag ${key}`,
    onclick: async () => {
      try {
        changed(await api.edit(run.id, { delete_tags: [key] }));
        announce(`Tag ${key} removed`);
      } catch (error) {
        announce(error.message);
      }
    },
  }, "×");
}
