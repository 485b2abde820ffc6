// The Overview page (the home page): the ledger's book beside what the venues hold, per mapped
// market and leg, from GET /api/positions/overview; the holdings no mapping names; the raw venue
// payloads for debugging; and the operator's actions on a difference (acknowledge, adopt, map),
// each confirmed with a reason and POSTed to /api/v2/reconciliations/actions. Amounts arrive as
// decimal strings and are only formatted (format.js): the browser does no arithmetic on them.

import {
  cell, formatContracts, formatTime, formatUsd, idWithCopy, marketLabel, shortId, slugWords,
} from "/static/format.js";

const AUTO_REFRESH_MS = 30000;
const AUTO_KEY = "trueup.overview.autoRefresh";
const VENUES = { kalshi: "Kalshi", polymarket: "Polymarket" };
const STATUS_TEXT = { match: "match", mismatch: "mismatch", unknown_mapping: "unknown mapping", api_error: "api error" };
const LEGS = { kalshi: "kalshi", polymarket: "poly" };
// A reason read alone (an alert, the API) begins with its market's title and this separator
// (services/reconciler/domain/reasons.py); here the title is on the row already.
const TITLE_SEPARATOR = " · ";
const ACTIONS = {
  acknowledge: { label: "Acknowledge", effect: "Marks the difference as known: it stays listed (marked acknowledged) "
    + "and is not alerted on again until it changes. Nothing is booked." },
  adopt: { label: "Adopt", effect: "Books the venue's quantity into the ledger as an external adjustment, at the "
    + "venue's average price, so the ledger holds what the venue holds. This changes the ledger." },
  map: { label: "Map", effect: "Attaches this instrument to the market you name (creating the market's mapping if "
    + "it has none); the next reconciliation compares it there." },
};

const section = document.getElementById("overview-section");
const dialog = document.getElementById("action-dialog");
let snapshotTime = null;
let pending = null; // the action the dialog is confirming
let loading = false;
let slugs = new Map(); // "venue:instrument_id" -> the market's slug, from the holdings snapshot or the ledger

function $(id) {
  return document.getElementById(id);
}

function statusBadge(status, acknowledged = false) {
  const box = document.createElement("span");
  box.className = "recon-status";
  const badge = document.createElement("span");
  badge.className = "badge recon";
  badge.dataset.recon = status;
  badge.textContent = STATUS_TEXT[status] ?? status;
  box.append(badge);
  if (acknowledged) {
    const ack = document.createElement("span");
    ack.className = "badge recon-ack";
    ack.textContent = "acknowledged";
    ack.title = "an operator marked this difference as known: not alerted on until it changes";
    box.append(ack);
  }
  return box;
}

// "+5", "−150", "0": a difference reads with its sign.
function signedContracts(text) {
  if (text == null) return "—";
  const shown = formatContracts(text);
  return /^[\d]/.test(shown) && shown !== "0" ? `+${shown}` : shown;
}

function signedUsd(text) {
  if (text == null) return "—";
  const shown = formatUsd(text);
  return shown.startsWith("$") && shown !== "$0.00" ? `+${shown}` : shown;
}

// A difference is red where it makes the item differ; within the tolerance of a match it is only shown.
function diffCell(text, format, matters) {
  const shown = format(text);
  const differs = matters && text != null && shown !== "0" && shown !== "$0.00";
  return cell(shown, `num${differs ? " diff" : ""}`);
}

function legName(item) {
  return `${VENUES[item.venue] ?? item.venue} ${item.outcome.toUpperCase()}`;
}

// The item's reason without the title it leads with when read alone: the row shows the title.
function reasonText(item) {
  const lead = item.title ? `${item.title}${TITLE_SEPARATOR}` : "";
  return lead && item.reason.startsWith(lead) ? item.reason.slice(lead.length) : item.reason;
}

// Where a holding's market is named by a slug: Polymarket's rows carry one ("will-x-happen"), and
// an imported ledger position may have one as its market id. Not slugs (slugWords says) are left out.
function slugsOf(body) {
  const found = new Map();
  for (const position of body.internal) {
    if (slugWords(position.market_id)) found.set(`${position.venue}:${position.instrument_id}`, position.market_id);
  }
  for (const venue of Object.keys(VENUES)) {
    for (const position of body.external[venue]?.positions ?? []) {
      const slug = position.raw?.slug;
      if (slugWords(slug)) found.set(`${venue}:${position.instrument_id}`, slug);
    }
  }
  return found;
}

// A holding's market slug: its own (above), else its market id when that is one.
function slugOf(item) {
  return slugs.get(`${item.venue}:${item.instrument_id}`) ?? (slugWords(item.market_id) ? item.market_id : null);
}

function ageText(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function renderAge() {
  if (!snapshotTime) return;
  const age = (Date.now() - Date.parse(snapshotTime)) / 1000;
  $("overview-snapshot").textContent = `venue snapshot ${ageText(age)} old (${formatTime(snapshotTime)})`;
}

// ---- actions --------------------------------------------------------------------------------

// Acknowledge only an item with a difference (orphaned, ghost, drift), as the reconciler does: it
// refuses any other and forgets an acknowledgement once its item has none. A holding that is only
// unmapped (quantities agree, whatever its cost basis) is mapped instead. Adopt when the quantities
// differ; map an unmapped instrument.
function actionsFor(item) {
  if (item.status === "match" || item.status === "api_error") return [];
  const actions = [];
  if (item.difference != null && !item.acknowledged) actions.push("acknowledge");
  if (item.diff_quantity != null && formatContracts(item.diff_quantity) !== "0") actions.push("adopt");
  if (item.market_id == null) actions.push("map");
  return actions;
}

function actionsCell(item) {
  const td = cell("", "actions");
  for (const action of actionsFor(item)) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.action = action;
    button.textContent = ACTIONS[action].label;
    button.addEventListener("click", () => openDialog(action, item));
    td.append(button);
  }
  return td;
}

function openDialog(action, item) {
  // One id per confirmed intent: resending after "no answer" reuses it, so an adopt books once.
  pending = { action, item, requestId: crypto.randomUUID() };
  const market = item.title || slugWords(slugOf(item)) || item.market_id;
  $("action-title").textContent = `${ACTIONS[action].label} this difference?`;
  $("action-what").textContent = [market, legName(item), shortId(item.instrument_id)].filter(Boolean).join(" · ");
  $("action-what").title = item.instrument_id;
  $("action-effect").textContent = ACTIONS[action].effect;
  $("action-market-label").hidden = action !== "map";
  $("action-market-id").required = action === "map";
  $("action-market-id").value = "";
  $("action-reason").value = "";
  $("action-error").hidden = true;
  $("action-confirm").disabled = false;
  $("action-confirm").textContent = ACTIONS[action].label;
  dialog.showModal();
  (action === "map" ? $("action-market-id") : $("action-reason")).focus();
}

function showResult(done, message) {
  const box = $("overview-action-result");
  box.hidden = false;
  box.className = done ? "action-done" : "error";
  box.textContent = message;
}

async function confirmAction(event) {
  event.preventDefault();
  if (!pending) return;
  const reason = $("action-reason").value.trim();
  const marketId = $("action-market-id").value.trim();
  const problem = !reason ? "A reason is required: it is kept in the audit log."
    : pending.action === "map" && !marketId ? "Name the market to map this instrument to." : "";
  if (problem) {
    $("action-error").hidden = false;
    $("action-error").textContent = problem;
    return;
  }
  const { action, item, requestId } = pending;
  const body = { action, venue: item.venue, instrument_id: item.instrument_id, outcome: item.outcome, reason,
    request_id: requestId };
  if (action === "map") body.market_id = marketId;
  $("action-confirm").disabled = true;
  try {
    const response = await fetch("/api/v2/reconciliations/actions", {
      method: "POST", headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
    const reply = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(reply.error ?? `HTTP ${response.status}`);
    dialog.close();
    pending = null;
    showResult(reply.done, `${ACTIONS[action].label}: ${reply.message}`);
    await loadOverview(false);
  } catch (err) {
    // Kept open with the same request id: confirming again is a retry, not a second action.
    $("action-error").hidden = false;
    $("action-error").textContent = `Not confirmed: ${err.message}. Confirm again to retry.`;
    $("action-confirm").disabled = false;
  }
}

// ---- tables ---------------------------------------------------------------------------------

function itemCells(item) {
  return [
    cell(formatContracts(item.internal_quantity), "num"),
    cell(item.external_quantity == null ? "—" : formatContracts(item.external_quantity), "num"),
    diffCell(item.diff_quantity, signedContracts, item.status !== "match"),
    cell(formatUsd(item.internal_cost_basis), "num"),
    cell(formatUsd(item.external_cost_basis), "num"),
    diffCell(item.diff_cost_basis, signedUsd, item.status === "mismatch"),
    cell(statusBadge(item.status, item.acknowledged), "status"),
    cell(reasonText(item), "reason"),
    actionsCell(item),
  ];
}

function itemRow(item, first) {
  const row = document.createElement("tr");
  row.className = "recon-item";
  row.dataset.item = `${item.venue}:${item.instrument_id}:${item.outcome}`;
  row.dataset.status = item.status;
  if (item.acknowledged) row.dataset.acknowledged = "true";
  row.append(first, ...itemCells(item));
  return row;
}

function legCell(item) {
  const td = cell(legName(item), `leg outcome-${item.outcome}`);
  td.dataset.leg = `${LEGS[item.venue] ?? item.venue}_${item.outcome}`;
  return td;
}

function marketBody(market) {
  const tbody = document.createElement("tbody");
  tbody.className = "recon-market";
  tbody.dataset.market = market.market_id;
  tbody.dataset.status = market.status;
  const head = document.createElement("tr");
  head.className = "market-row";
  // A market mapped without a title whose holdings have none either: its market id when that is a
  // slug, else a holding's slug, reads as words.
  const slug = [market.market_id, ...market.items.map(slugOf)].find(slugWords) ?? null;
  const label = cell(marketLabel({ title: market.title, slug, id: market.market_id }), "market");
  label.colSpan = 8;
  const status = cell(statusBadge(market.status), "status");
  const reason = cell(market.reason, "reason");
  reason.colSpan = 2;
  head.append(label, status, reason);
  tbody.append(head);
  for (const item of market.items) {
    const row = itemRow(item, legCell(item));
    row.insertBefore(cell(idWithCopy(item.instrument_id), "instrument"), row.children[1]);
    tbody.append(row);
  }
  return tbody;
}

// Differences first, then unknown, then errors, then matches; by title within each.
const ORDER = { mismatch: 0, unknown_mapping: 1, api_error: 2, match: 3 };

function byAttention(a, b) {
  return (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9)
    || String(a.title ?? a.market_id ?? a.instrument_id).localeCompare(String(b.title ?? b.market_id ?? b.instrument_id));
}

function renderMarkets(run) {
  const table = $("overview-markets");
  for (const old of table.querySelectorAll("tbody")) old.remove();
  const markets = Object.values(run.by_market_id).sort(byAttention);
  table.append(...markets.map(marketBody));
  $("overview-markets-empty").hidden = markets.length > 0;
}

function renderUnmapped(run) {
  const items = [...run.unmapped].sort(byAttention);
  $("overview-unmapped").querySelector("tbody").replaceChildren(...items.map((item) => {
    const row = itemRow(item, cell(marketLabel({ title: item.title, slug: slugOf(item), id: item.instrument_id }),
      "market"));
    row.insertBefore(legCell(item), row.children[1]);
    return row;
  }));
  $("overview-unmapped-empty").hidden = items.length > 0;
  $("overview-unmapped-count").textContent = items.length ? `${items.length} holding${items.length === 1 ? "" : "s"}` : "";
}

function renderSummary(run) {
  for (const [status, label] of Object.entries(STATUS_TEXT)) {
    const count = section.querySelector(`[data-summary="${status}"] strong`);
    count.textContent = String(run.summary[status] ?? 0);
    count.title = `${label}: items (venue, instrument, outcome)`;
  }
  const errors = Object.entries(run.errors ?? {});
  const list = $("overview-venue-errors");
  list.hidden = errors.length === 0;
  list.replaceChildren(...errors.map(([venue, message]) => {
    const li = document.createElement("li");
    li.className = "error";
    li.dataset.venue = venue;
    li.textContent = `${VENUES[venue] ?? venue}: ${message}`;
    return li;
  }));
}

// ---- debug panel ----------------------------------------------------------------------------

function pre(value) {
  const box = document.createElement("pre");
  box.textContent = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return box;
}

function renderDebug(body) {
  const parts = [];
  const heading = (text) => {
    const h = document.createElement("h4");
    h.textContent = text;
    return h;
  };
  if (body.error) parts.push(heading("Source error"), pre(body.error));
  const errors = { ...(body.external.errors ?? {}), ...(body.reconciliation.errors ?? {}) };
  parts.push(heading("Venue errors"), pre(Object.keys(errors).length ? errors : "none"));
  for (const [venue, name] of Object.entries(VENUES)) {
    const view = body.external[venue];
    const block = document.createElement("div");
    block.className = "debug-venue";
    block.dataset.venue = venue;
    if (!view) {
      block.append(heading(`${name}: no snapshot`));
    } else {
      block.append(
        heading(`${name}: ${view.status}${view.complete ? "" : " (incomplete)"} · account ${view.account} · `
          + `snapshot ${formatTime(view.snapshot_time)} (${view.age_seconds} s old) · ${view.positions.length} rows`),
        pre(view.positions.map((p) => p.raw)),
      );
    }
    parts.push(block);
  }
  parts.push(heading(`Ledger: ${body.internal.length} open positions`),
    pre(body.internal.map((p) => ({ venue: p.venue, instrument_id: p.instrument_id, outcome: p.outcome,
      quantity: p.quantity, cost_basis: p.cost_basis, market_id: p.market_id }))));
  $("overview-debug-body").replaceChildren(...parts);
}

// ---- loading --------------------------------------------------------------------------------

export async function loadOverview(refreshExternal = false) {
  if (loading) return;
  loading = true;
  const status = $("overview-status");
  const error = $("overview-error");
  status.textContent = refreshExternal ? "reading both venues…" : "loading…";
  try {
    // Same-origin: the browser sends the session cookie from the login link by itself.
    const response = await fetch(`/api/positions/overview?refresh_external=${refreshExternal ? 1 : 0}`,
      { headers: { accept: "application/json" } });
    if (response.status === 401) throw new Error("logged out (the API restarted or the session expired): open a new login link");
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
    const run = body.reconciliation;
    slugs = slugsOf(body);
    renderSummary(run);
    renderMarkets(run);
    renderUnmapped(run);
    renderDebug(body);
    snapshotTime = run.snapshot_time;
    renderAge();
    error.hidden = !body.error;
    error.textContent = body.error ? `Partly read: ${body.error}` : "";
    status.textContent = `compared at ${formatTime(run.finished_at)}`;
  } catch (err) {
    error.hidden = false;
    error.textContent = err.message;
    status.textContent = "";
  } finally {
    loading = false;
  }
}

$("refresh-overview").addEventListener("click", () => loadOverview(true));
$("action-form").addEventListener("submit", confirmAction);
$("action-cancel").addEventListener("click", () => {
  pending = null;
  dialog.close();
});
const auto = $("overview-auto");
auto.checked = localStorage.getItem(AUTO_KEY) !== "off";
auto.addEventListener("change", () => localStorage.setItem(AUTO_KEY, auto.checked ? "on" : "off"));
document.addEventListener("trueup:page", (event) => {
  if (event.detail === "overview") loadOverview(false);
});

if (!section.hidden) loadOverview(false);
// Only while the page is shown and the toggle is on; the gateway's short cache serves these.
setInterval(() => {
  if (!section.hidden && auto.checked && !dialog.open) loadOverview(false);
}, AUTO_REFRESH_MS);
setInterval(() => {
  if (!section.hidden) renderAge();
}, 1000);
