// Actual holdings per venue, from GET /api/positions/external. Numbers arrive as decimal strings
// and are only formatted here (format.js): the browser never does arithmetic on money.

import {
  cell, formatContracts, formatPrice, formatTime, formatUsd, marketLabel, moneyCell, shortId, signClass,
} from "/static/format.js";

const VENUES = { kalshi: "Kalshi", polymarket: "Polymarket" };

function marketCell(position) {
  return cell(marketLabel({ title: position.title, id: position.instrument_id }), "market");
}

function markCell(venue, position) {
  if (position.valuation_source === "mark") {
    const td = cell(formatPrice(venue, position.mark_price), "num");
    td.title = `mid of the book at ${formatTime(position.mark_as_of)}`;
    return td;
  }
  if (position.valuation_source === "venue") {
    const td = cell(`${formatPrice(venue, position.mark_price)} (venue)`, "num muted");
    td.title = "no two-sided book: valued at the venue's own current price (1 or 0 once resolved)";
    return td;
  }
  const td = cell("—", "num muted");
  td.title = "no mark yet";
  return td;
}

function positionRow(venue, position) {
  const row = document.createElement("tr");
  row.dataset.instrument = position.instrument_id;
  const outcome = cell(position.outcome, `outcome outcome-${position.outcome}`);
  row.append(
    marketCell(position),
    outcome,
    cell(formatContracts(position.quantity), "num"),
    cell(formatPrice(venue, position.avg_price), "num"),
    markCell(venue, position),
    moneyCell(position.cost_basis),
    moneyCell(position.market_value),
    moneyCell(position.unrealized_pnl, { signed: true }),
    moneyCell(position.realized_pnl, { signed: true }),
  );
  return row;
}

function renderTotals(article, totals) {
  const field = (name) => article.querySelector(`[data-total="${name}"]`);
  for (const name of ["cash", "cost_basis", "market_value", "unrealized_pnl"]) {
    field(name).textContent = totals ? formatUsd(totals[name]) : "—";
  }
  field("unrealized_pnl").className = totals ? signClass(totals.unrealized_pnl) : "";
  const note = article.querySelector('[data-role="unvalued"]');
  note.hidden = !totals?.unvalued;
  note.textContent = totals?.unvalued ? `${totals.unvalued} holding(s) without a mark are not in the totals` : "";
  const foot = article.querySelector("tfoot tr");
  foot.replaceChildren(
    cell("Total", "total-label"), cell(""), cell(""), cell(""), cell(""),
    moneyCell(totals?.cost_basis), moneyCell(totals?.market_value), moneyCell(totals?.unrealized_pnl, { signed: true }), cell(""),
  );
}

function renderVenue(article, venue, venueView, error) {
  const field = (role) => article.querySelector(`[data-role="${role}"]`);
  const errorBox = field("error");
  errorBox.hidden = !error;
  errorBox.textContent = error ?? "";
  const tbody = field("positions").querySelector("tbody");
  if (!venueView) {
    field("status").textContent = "unavailable";
    field("status").dataset.status = "error";
    tbody.replaceChildren();
    renderTotals(article, null);
    return;
  }
  field("status").textContent = venueView.complete ? venueView.status : `${venueView.status} (incomplete)`;
  field("status").dataset.status = venueView.complete ? "ok" : venueView.status === "ok" ? "degraded" : venueView.status;
  const account = field("account");
  account.textContent = shortId(venueView.account) || "—";
  account.title = venueView.account || "";
  field("age").textContent = `${venueView.age_seconds}s old`;
  tbody.replaceChildren(...venueView.positions.map((position) => positionRow(venue, position)));
  renderTotals(article, venueView.totals);
}

function venueArticles() {
  const container = document.getElementById("venues");
  if (!container.children.length) {
    const template = document.getElementById("venue-template");
    for (const [venue, name] of Object.entries(VENUES)) {
      const article = template.content.firstElementChild.cloneNode(true);
      article.dataset.venue = venue;
      article.querySelector('[data-role="name"]').textContent = name;
      article.querySelector('[data-role="price-unit"]').textContent = venue === "kalshi" ? "¢" : "0–1";
      container.append(article);
    }
  }
  return container.querySelectorAll("article.venue");
}

export async function loadHoldings(refresh = false) {
  const status = document.getElementById("holdings-status");
  status.textContent = refresh ? "refreshing…" : "loading…";
  let body;
  try {
    // Same-origin: the browser sends the HttpOnly session cookie from the login link by itself.
    const response = await fetch(`/api/positions/external?refresh=${refresh ? 1 : 0}`);
    if (response.status === 401) {
      status.textContent = "logged out (the API restarted or the session expired): open a new login link";
      return;
    }
    body = await response.json();
  } catch (err) {
    status.textContent = "could not reach the API";
    return;
  }
  const external = body.external;
  for (const article of venueArticles()) {
    const venue = article.dataset.venue;
    renderVenue(article, venue, external[venue], external.errors?.[venue]);
  }
  status.textContent = `as of ${formatTime(external.snapshot_time)}`;
}

venueArticles();
document.getElementById("refresh-holdings").addEventListener("click", () => loadHoldings(true));
loadHoldings(false);
setInterval(() => loadHoldings(false), 15000);
