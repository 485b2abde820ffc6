// How every page shows numbers and ids. The API sends money, prices and quantities as decimal
// strings; they are rounded here as decimal digits (BigInt), never through a binary float, so
// what a trader reads is the venue's number rounded half away from zero — not 8852.259999.

const MINUS = "\u2212"; // a real minus sign: a hyphen is easy to miss in a column of money
const DASH = "—";

// "-12.305" -> { negative: true, units: 12305n, scale: 3 }; null when it is not a decimal.
function parse(text) {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(String(text ?? "").trim());
  if (!match || (match[2] === "" && !match[3])) return null;
  const fraction = match[3] ?? "";
  return { negative: match[1] === "-", units: BigInt((match[2] || "0") + fraction), scale: fraction.length };
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

/** "gain" / "loss" / "" for colouring a signed dollar amount — as shown: one that rounds to
 * $0.00 is neither. */
export function signClass(text) {
  const d = parse(text);
  if (!d) return "";
  const shown = roundTo(d, 2);
  if (shown.units === 0n) return "";
  return shown.negative ? "loss" : "gain";
}

/** Long venue ids (Polymarket's 77-digit token ids, addresses) as "7124…8841"; short ones as is. */
export function shortId(id, longerThan = 24, keep = 4) {
  const text = String(id ?? "");
  return text.length > longerThan ? `${text.slice(0, keep)}…${text.slice(-keep)}` : text;
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
