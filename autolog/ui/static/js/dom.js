// Building DOM without innerHTML: every run name, param and tag is user data, so text
// always goes in as text nodes and nothing a run logged can become markup.

/** Create an element: h("a", {href, class: "x", onclick}, "text", child, [more]). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") el.style.cssText = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const ICONS = {
  chevron: "M6 4l4 4-4 4",
  download: "M8 2.5v8M4.5 7.5 8 11l3.5-3.5M3 13.5h10",
  file: "M4 1.5h5l3 3v10H4zM9 1.5v3h3",
  columns: "M2.5 3h11v10h-11zM6.2 3v10M9.8 3v10",
  compare: "M5 2v12M11 2v12M2 5h6M8 11h6",
  copy: "M5.5 5.5h8v8h-8zM10.5 5.5v-3h-8v8h3",
  chart: "M2 13.5h12M3.5 11l3-4 2.5 2 4-5.5",
  close: "M4 4l8 8M12 4l-8 8",
};

/** A 16x16 stroke icon, hidden from screen readers (the control carries the label). */
export function icon(name, className = "") {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  if (className) svg.setAttribute("class", className);
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "1.6");
  path.setAttribute("stroke-linecap", "round");
  path.setAttribute("stroke-linejoin", "round");
  svg.append(path);
  return svg;
}

/** Say something to screen-reader users without moving focus. */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 30);
}

export function statusBadge(status) {
  const label = status.charAt(0) + status.slice(1).toLowerCase();
  return h("span", { class: `status status-${status}` }, label);
}

/** A card with a heading, an optional count and actions, and a body. */
export function card(title, body, { count, actions, id, className = "" } = {}) {
  const headingId = id ? `${id}-title` : undefined;
  return h("section", { class: `card ${className}`, "aria-labelledby": headingId, id },
    h("div", { class: "card-head" },
      h("h2", { id: headingId }, title, count !== undefined ? h("span", { class: "count" }, count) : null),
      actions || null),
    body);
}

/** The page's error box, with the server's message. */
export function errorNotice(error) {
  return h("div", { class: "notice error", role: "alert" }, error.message || String(error));
}

/** A key that may wrap after "." "/" "_" "-" (long metric and tag keys), not mid-word. */
export function breakable(text) {
  const out = [];
  String(text).split(/(?<=[./_-])/).forEach((part, index) => {
    if (index) out.push(document.createElement("wbr"));
    out.push(part);
  });
  return out;
}
