// The JSON API under /ui-api (see autolog/ui/api.py); every call goes through getJSON.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export async function getJSON(path, params = {}, { signal } = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, value);
  }
  const url = `/ui-api/${path}${query.size ? `?${query}` : ""}`;
  let response;
  try {
    response = await fetch(url, { signal, headers: { Accept: "application/json" } });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("Cannot reach the server. Is it still running?", 0);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body?.error || body?.message || `${response.status} ${response.statusText}`;
    throw new ApiError(message, response.status);
  }
  return body;
}

export const api = {
  info: () => getJSON("info"),
  experiments: () => getJSON("experiments"),
  runs: (experiment, filter, options, deleted = false) =>
    getJSON("runs", { experiment, filter, deleted: deleted ? "1" : "" }, options),
  edit: (id, body) => sendEdit(id, body),
  run: (id, options) => getJSON(`runs/${encodeURIComponent(id)}`, {}, options),
  metric: (id, key, params = {}, options) =>
    getJSON(`runs/${encodeURIComponent(id)}/metric`, { key, ...params }, options),
};

/** The UI's one write: POST /ui-api/runs/ID/edit; answers the run as it now reads. */
async function sendEdit(id, body) {
  let response;
  try {
    response = await fetch(`/ui-api/runs/${encodeURIComponent(id)}/edit`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-Autolog-UI": "edit" },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError("Cannot reach the server. Is it still running?", 0);
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(answer?.error || `${response.status} ${response.statusText}`, response.status);
  return answer;
}

export function artifactUrl(runId, path) {
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  return `/ui-api/runs/${encodeURIComponent(runId)}/artifacts/${encoded}`;
}
