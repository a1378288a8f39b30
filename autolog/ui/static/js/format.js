// How numbers, times and sizes are written everywhere in the UI.

const compact = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 6 });
const integer = new Intl.NumberFormat(undefined);

/** A metric value from the API: a number, or "NaN"/"Infinity"/"-Infinity", or null. */
export function toNumber(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  const parsed = Number(value);
  return Number.isNaN(parsed) ? null : parsed;
}

/** Six significant digits, like the CLI; exponent form for the very large and small. */
export function formatNumber(value) {
  const n = toNumber(value);
  if (n === null) return "—";
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "∞" : "−∞";
  if (n !== 0 && (Math.abs(n) >= 1e9 || Math.abs(n) < 1e-4)) {
    return Number(n.toPrecision(5)).toExponential();
  }
  if (Number.isInteger(n)) return integer.format(n);
  return compact.format(n);
}

/** Every digit a double has: what hovering a chart point shows. */
export function exactNumber(value) {
  const n = toNumber(value);
  if (n === null) return "—";
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "Infinity" : "-Infinity";
  return String(n);
}

export function formatCount(n) {
  return integer.format(n);
}

export function formatDuration(startMs, endMs) {
  if (!startMs) return "—";
  const end = endMs ?? Date.now();
  let seconds = Math.max(0, (end - startMs) / 1000);
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  let minutes = Math.floor(seconds / 60);
  seconds = Math.floor(seconds % 60);
  if (minutes < 60) return `${minutes}m ${String(seconds).padStart(2, "0")}s`;
  const hours = Math.floor(minutes / 60);
  minutes %= 60;
  if (hours < 48) return `${hours}h ${String(minutes).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});
const fullDateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric",
  hour: "2-digit", minute: "2-digit", second: "2-digit",
});

export function formatTime(ms) {
  return ms ? dateTime.format(new Date(ms)) : "—";
}

export function formatFullTime(ms) {
  return ms ? fullDateTime.format(new Date(ms)) : "";
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** "3 minutes ago"; the exact time goes in a title attribute beside it. */
export function formatAgo(ms) {
  if (!ms) return "—";
  const seconds = (ms - Date.now()) / 1000;
  const steps = [[60, "second"], [60, "minute"], [24, "hour"], [30, "day"], [12, "month"]];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return relative.format(Math.round(value), "year");
}

export function formatBytes(size) {
  if (size === null || size === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Compare two cell values for sorting: numbers as numbers, then text, missing last. */
export function compareValues(a, b) {
  const aMissing = a === null || a === undefined || a === "";
  const bMissing = b === null || b === undefined || b === "";
  if (aMissing || bMissing) return aMissing === bMissing ? 0 : aMissing ? 1 : -1;
  const x = typeof a === "number" ? a : Number(a);
  const y = typeof b === "number" ? b : Number(b);
  const xNumber = !Number.isNaN(x) && a !== "NaN";
  const yNumber = !Number.isNaN(y) && b !== "NaN";
  if (xNumber && yNumber) return x - y;
  if (xNumber !== yNumber) return xNumber ? -1 : 1;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}
