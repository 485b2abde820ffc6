// How every page shows numbers, times, ids and table cells. The API sends money, prices and
// quantities as decimal strings; they are rounded here as decimal digits (BigInt), never through a
// binary float, so what a trader reads is the venue's number rounded half away from zero — not 8852.259999.

const MINUS = "\u2212"; // a real minus sign: a hyphen is easy to miss in a column of money
const DASH = "—";

// Every finite form a Decimal's string can take: "12.305", "-0", ".5", "0E-14", "1.5E+3".
// NaN and Infinity are no amount. An exponent this large is no amount either (and would make
// BigInt work for seconds); a zero is zero whatever its exponent.
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const MAX_SCALE = 1000;

// "-12.305" -> { negative: true, units: 12305n, scale: 3 }; null when it is not a decimal.
function parse(text) {
  const match = DECIMAL.exec(String(text ?? "").trim());
  if (!match || (match[2] === "" && !match[3])) return null;
  const fraction = match[3] ?? "";
  let units = BigInt((match[2] || "0") + fraction);
  if (units === 0n) return { negative: false, units, scale: 0 }; // "-0", "0E-14": plain zero
  let scale = fraction.length - Number(match[4] ?? 0);
  if (Math.abs(scale) > MAX_SCALE) return null;
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { negative: match[1] === "-", units, scale };
}

// Multiply by 10^places exactly (moves the decimal point): dollars -> cents.
function shift(d, places) {
  if (d.scale >= places) return { ...d, scale: d.scale - places };
  return { ...d, units: d.units * 10n ** BigInt(places - d.scale), scale: 0 };
}

function roundTo(d, places) {
  let units;
  if (d.scale <= places) {
    units = d.units * 10n ** BigInt(places - d.scale);
  } else {
    const divisor = 10n ** BigInt(d.scale - places);
    units = d.units / divisor;
    if ((d.units % divisor) * 2n >= divisor) units += 1n;
  }
  return { negative: d.negative && units !== 0n, units, scale: places };
}

// Digits with thousands separators; trailing fraction zeros trimmed down to `minPlaces`.
function render(d, minPlaces) {
  const digits = d.units.toString().padStart(d.scale + 1, "0");
  let whole = digits.slice(0, digits.length - d.scale);
  let fraction = d.scale ? digits.slice(digits.length - d.scale) : "";
  while (fraction.length > minPlaces && fraction.endsWith("0")) fraction = fraction.slice(0, -1);
  whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return { sign: d.negative ? MINUS : "", body: fraction ? `${whole}.${fraction}` : whole };
}

/** Dollars with 2 decimals: "$8,852.26", "−$12.30". */
export function formatUsd(text) {
  const d = parse(text);
  if (!d) return DASH;
  const { sign, body } = render(roundTo(d, 2), 2);
  return `${sign}$${body}`;
}

/** Contracts or shares, exact (fractional contracts exist): "1,250", "10.5". */
export function formatContracts(text) {
  const d = parse(text);
  if (!d) return DASH;
  const { sign, body } = render(d, 0);
  return sign + body;
}

/** A contract price as each venue quotes it: Kalshi in cents ("56¢", "29.56¢"), Polymarket 0–1
 * with at most 4 decimals ("0.45", "0.4567"). */
export function formatPrice(venue, text) {
  const d = parse(text);
  if (!d) return DASH;
  if (venue === "kalshi") {
    const { sign, body } = render(roundTo(shift(d, 2), 2), 0);
    return `${sign}${body}¢`;
  }
  const { sign, body } = render(roundTo(d, 4), 2);
  return sign + body;
}

/** A table cell showing `content`: text (an absent one as "—") or an element. */
export function cell(content, className = "") {
  const td = document.createElement("td");
  // textContent, never innerHTML: titles and reasons come from the venues and the services.
  if (content instanceof Node) td.append(content);
  else td.textContent = content ?? DASH;
  if (className) td.className = className;
  return td;
}

/** A right-aligned cell of dollars; `signed` colours a gain or loss. */
export function moneyCell(text, { signed = false } = {}) {
  return cell(formatUsd(text), `num ${signed ? signClass(text) : ""}`.trim());
}

/** "gain" / "loss" / "" for colouring a signed dollar amount — as shown: one that rounds to
 * $0.00 is neither. */
export function signClass(text) {
  const d = parse(text);
  if (!d) return "";
  const shown = roundTo(d, 2);
  if (shown.units === 0n) return "";
  return shown.negative ? "loss" : "gain";
}

/** Long venue ids (Polymarket's 77-digit token ids, 0x condition ids, addresses) as their first 6
 * and last 4 characters, "712400…8841", "0x5f1c…c4b3"; short ones (Kalshi tickers) as is. */
export function shortId(id, longerThan = 24) {
  const text = String(id ?? "");
  return text.length > longerThan ? `${text.slice(0, 6)}…${text.slice(-4)}` : text;
}

// A market slug (Polymarket's "will-x-happen", an operator's "fed-cut-dec-2026"): lower-case words
// and digits joined by hyphens. A Kalshi ticker (upper case), a token id (digits) or a 0x id is none.
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)+$/;

/** A slug as the words it spells, "will-x-happen" -> "will x happen"; null when `text` is no slug. */
export function slugWords(text) {
  return SLUG.test(String(text ?? "")) ? text.replaceAll("-", " ") : null;
}

/** An id shown short, the full id on hover and a button that copies it. */
export function idWithCopy(id) {
  const wrap = document.createElement("span");
  wrap.className = "venue-id";
  const code = document.createElement("code");
  code.textContent = shortId(id);
  code.title = id;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "copy";
  button.title = `Copy ${id}`;
  button.dataset.copy = id;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(id);
      button.textContent = "copied";
    } catch {
      button.textContent = "copy failed";
    }
    setTimeout(() => { button.textContent = "copy"; }, 1500);
  });
  wrap.append(code, button);
  return wrap;
}

/** A market's name where a trader looks first: its title, and under it the id (`detailId`, the
 * instrument's own `id` unless given). Without a title, the market's slug (`slug`: "will-x-happen")
 * reads as its words ("will x happen"), the id beneath. With neither, the instrument id stands in
 * the title's place — shown as an id (monospace, shortened when long, copyable), never dressed up
 * as a title — and is not repeated beneath it. */
export function marketLabel({ title, slug = null, id, detailId = id }) {
  const box = document.createElement("div");
  const head = document.createElement("div");
  head.className = "market-title";
  const name = title || slugWords(slug);
  if (name) {
    head.textContent = name; // textContent, never innerHTML: titles come from the venues
    if (!title) {
      head.classList.add("from-slug");
      head.title = `the venue has not named this market: its slug, ${slug}`;
    }
    box.append(head, idWithCopy(detailId));
    return box;
  }
  head.classList.add("untitled");
  head.title = "the venue has not named this market yet";
  head.append(idWithCopy(id));
  box.append(head);
  if (detailId && detailId !== id) box.append(idWithCopy(detailId));
  return box;
}

// ---- times ----------------------------------------------------------------------------------
// One style on every page, the one the holdings page has always shown (toLocaleTimeString): the
// browser's locale and time zone, "9:03:20 PM" (or "21:03:20" where the locale reads 24-hour).

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
const TIME = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", second: "2-digit" });
const TIME_MINUTES = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const DATE_PARTS = { month: "short", day: "numeric" };
const WITH_YEAR = { ...DATE_PARTS, year: "numeric" };
const MONTH = new Intl.DateTimeFormat(undefined, { month: "short", year: "numeric" });
const formats = new Map();

function dateFormat(options) {
  const key = JSON.stringify(options);
  if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat(undefined, options));
  return formats.get(key);
}

// An ISO string (the API's), a Date or epoch milliseconds; null when it is no moment.
function toDate(at) {
  if (at == null || at === "") return null;
  const date = at instanceof Date ? at : new Date(at);
  return Number.isNaN(date.getTime()) ? null : date;
}

// The day's parts; the year only when it is not this one ("Nov 29", "Dec 3, 2025").
function dayParts(dates) {
  const year = new Date().getFullYear();
  return dates.every((d) => d.getFullYear() === year) ? DATE_PARTS : WITH_YEAR;
}

function timeParts(seconds) {
  return seconds ? { hour: "numeric", minute: "2-digit", second: "2-digit" } : { hour: "numeric", minute: "2-digit" };
}

/** A moment of today, to the second: "9:03:20 PM". */
export function formatTime(at) {
  const date = toDate(at);
  return date ? TIME.format(date) : DASH;
}

/** A moment on any day: "Nov 29, 9:03 PM"; `seconds` for "Nov 29, 9:03:20 PM". */
export function formatDateTime(at, { seconds = false } = {}) {
  const date = toDate(at);
  return date ? dateFormat({ ...dayParts([date]), ...timeParts(seconds) }).format(date) : DASH;
}

/** From one moment to another without repeating their day: "Nov 29, 9:01 – 9:05 PM",
 * "Nov 27, 9:00 PM – Nov 29, 9:05 PM"; to the second when both fall in the same minute. */
export function formatTimeRange(from, to) {
  const [start, end] = [toDate(from), toDate(to)];
  if (!start || !end) return DASH;
  const sameMinute = Math.floor(start / MINUTE) === Math.floor(end / MINUTE);
  return dateFormat({ ...dayParts([start, end]), ...timeParts(sameMinute) }).formatRange(start, end);
}

/** Labels for a time axis whose ticks are `stepMs` apart, readable from seconds to years: the
 * time of day for steps under a day (with seconds under a minute) and the day beneath the first
 * tick and wherever it changes ("9:00 PM\nNov 29"); days ("Nov 29") for longer steps; months
 * ("Nov 2026") from a month on. */
export function formatTimeTicks(stamps, stepMs) {
  const dates = stamps.map((at) => new Date(at));
  if (stepMs >= 28 * DAY) return dates.map((d) => MONTH.format(d));
  const day = dateFormat(dayParts(dates));
  if (stepMs >= DAY) return dates.map((d) => day.format(d));
  const time = stepMs < MINUTE ? TIME : TIME_MINUTES;
  return dates.map((d, i) => {
    const label = time.format(d);
    const today = day.format(d);
    return i === 0 || today !== day.format(dates[i - 1]) ? `${label}\n${today}` : label;
  });
}
