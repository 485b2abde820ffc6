// The Portfolio page: the ledger's own book (GET /api/v2/positions, /positions/summary) and the
// net liquidation over time (/api/v2/portfolio/history), charted with the vendored uPlot.
// Amounts arrive as decimal strings and are shown through format.js; only the chart turns them
// into floats, to place points on the screen (its labels show the original strings).

import uPlot from "/static/vendor/uPlot.esm.js";
import {
  cell, formatContracts, formatDateTime, formatPrice, formatTime, formatTimeRange, formatTimeTicks, formatUsd, marketLabel,
  moneyCell, signClass,
} from "/static/format.js";

const PAGE_SIZE = 50;
const VENUES = { kalshi: "Kalshi", polymarket: "Polymarket" };
// Axis ticks only (never an amount a trader reads as a fact): whole dollars are enough.
const AXIS_USD = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
// Steps between time ticks (seconds), whole seconds up: uPlot's own list goes down to
// milliseconds, which labels a short history ":02.500".
const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [1, 2, 5, 10, 15, 30, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY,
  30 * DAY, 60 * DAY, 90 * DAY, 180 * DAY, 365 * DAY]; // uPlot reads 30-day multiples as calendar months

const section = document.getElementById("portfolio-section");
const view = { status: "open", orderBy: "opened_at", asc: false, offset: 0 };
let chart = null;

function $(id) {
  return document.getElementById(id);
}

async function getJson(path) {
  // Same-origin: the browser sends the session cookie from the login link by itself.
  const response = await fetch(path, { headers: { accept: "application/json" } });
  if (response.status === 401) throw new Error("logged out (the API restarted or the session expired): open a new login link");
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error ?? `${path}: HTTP ${response.status}`);
  return body;
}

// ---- KPI cards ------------------------------------------------------------------------------

function renderKpis(summary) {
  const t = summary.totals;
  const kpi = (name, value, note = "", className = "") => {
    const card = section.querySelector(`[data-kpi="${name}"]`);
    const valueBox = card.querySelector(".kpi-value");
    valueBox.textContent = value;
    valueBox.className = `kpi-value ${className}`.trim();
    card.querySelector(".kpi-note").textContent = note;
  };
  kpi("open_positions", formatContracts(String(t.open_positions)));
  kpi("total_cost_basis", formatUsd(t.total_cost_basis));
  kpi("total_market_value", formatUsd(t.total_market_value),
    t.unvalued_positions ? `${t.unvalued_positions} without a mark, counted at cost` : "at the latest marks");
  kpi("unrealized_pnl", formatUsd(t.unrealized_pnl), "open positions", signClass(t.unrealized_pnl));
  kpi("realized_pnl", formatUsd(t.realized_pnl), `net of ${formatUsd(t.fees)} fees`, signClass(t.realized_pnl));
  kpi("net_liquidation", formatUsd(t.net_liquidation),
    t.cash == null ? "no venue balance yet: market value only" : `cash ${formatUsd(t.cash)} + market value`);
}

// ---- net liquidation chart -----------------------------------------------------------------

function renderChart(snapshots) {
  const box = $("net-chart");
  const empty = $("chart-empty");
  const enough = snapshots.length >= 2;
  empty.hidden = enough;
  box.hidden = !enough;
  $("chart-range").textContent = enough ? formatTimeRange(snapshots[0].snapshot_at, snapshots.at(-1).snapshot_at) : "";
  if (!enough) {
    // The interval is the ledger's setting (an hour by default, a minute under `make run`).
    empty.textContent = `Not enough history for a chart yet: the ledger stores a snapshot at a regular interval `
      + `(${snapshots.length} so far).`;
    chart?.destroy();
    chart = null;
    return;
  }
  const times = snapshots.map((s) => Date.parse(s.snapshot_at) / 1000);
  const values = snapshots.map((s) => Number(s.totals.net_liquidation));
  // The legend shows the point under the cursor, and the latest one when the cursor is elsewhere.
  const last = snapshots.length - 1;
  const labelAt = (i) => formatUsd(snapshots[i ?? last].totals.net_liquidation);
  const opts = {
    width: Math.max(box.clientWidth, 320),
    height: 260,
    legend: { show: true },
    // Room on the right for half of the last time label ("9:18:42 PM"), which uPlot centres on its tick.
    padding: [null, 45, null, null],
    cursor: { points: { size: 7 } },
    scales: { x: { time: true } },
    axes: [
      { stroke: "#6b7280", grid: { stroke: "#eef0f3" }, space: 90, incrs: TIME_STEPS,
        values: (u, ticks, axisIdx, space, step) => formatTimeTicks(ticks.map((t) => t * 1000), step * 1000) },
      { stroke: "#6b7280", grid: { stroke: "#eef0f3" }, size: 80, values: (u, ticks) => ticks.map((v) => AXIS_USD.format(v)) },
    ],
    series: [
      { label: "Time", value: (u, ts, seriesIdx, i) => formatDateTime(times[i ?? last] * 1000, { seconds: true }) },
      { label: "Net liquidation", stroke: "#2563eb", width: 2, fill: "rgba(37, 99, 235, .08)",
        value: (u, v, seriesIdx, i) => labelAt(i) },
    ],
  };
  chart?.destroy();
  chart = new uPlot(opts, [times, values], box);
}

window.addEventListener("resize", () => {
  if (chart) chart.setSize({ width: Math.max($("net-chart").clientWidth, 320), height: 260 });
});

// ---- positions table ------------------------------------------------------------------------

function marketCell(position) {
  // Under the title, the market (a Polymarket condition id); untitled, the instrument leads.
  return cell(marketLabel({ title: position.title, id: position.instrument_id, detailId: position.market_id }), "market");
}

function markCell(position) {
  if (position.mark_price == null) {
    const td = cell("—", "num muted");
    td.title = "no mark yet: valued at cost in the totals";
    return td;
  }
  const td = cell(formatPrice(position.venue, position.mark_price), "num");
  if (position.mark_as_of) td.title = `marked at ${formatDateTime(position.mark_as_of, { seconds: true })}`;
  return td;
}

function statusCell(position) {
  const td = cell(position.status, `status status-${position.status}`);
  if (position.settlement_result) td.textContent = `settled ${position.settlement_result}`;
  if (position.closed_at) td.title = `closed ${formatDateTime(position.closed_at, { seconds: true })}`;
  return td;
}

function positionRow(position) {
  const row = document.createElement("tr");
  row.dataset.position = position.id;
  const opened = cell(formatDateTime(position.opened_at), "time");
  opened.title = formatDateTime(position.opened_at, { seconds: true });
  row.append(
    marketCell(position),
    cell(VENUES[position.venue] ?? position.venue),
    cell(position.outcome, `outcome outcome-${position.outcome}`),
    cell(formatContracts(position.quantity), "num"),
    cell(formatPrice(position.venue, position.avg_price), "num"),
    markCell(position),
    moneyCell(position.cost_basis),
    moneyCell(position.market_value),
    moneyCell(position.unrealized_pnl, { signed: true }),
    moneyCell(position.realized_pnl, { signed: true }),
    cell(position.strategy_name ?? "—", position.strategy_name ? "nowrap" : "muted"),
    cell(position.origin, "origin nowrap"),
    statusCell(position),
    opened,
  );
  return row;
}

function renderSortHeaders() {
  for (const th of section.querySelectorAll("th.sortable")) {
    const active = th.dataset.sort === view.orderBy;
    th.setAttribute("aria-sort", active ? (view.asc ? "ascending" : "descending") : "none");
    th.dataset.arrow = active ? (view.asc ? "▲" : "▼") : "↕";
  }
  for (const button of section.querySelectorAll("[data-status-filter]")) {
    button.setAttribute("aria-pressed", String(button.dataset.statusFilter === view.status));
  }
}

function renderPositions(page) {
  section.querySelector("#ledger-positions tbody").replaceChildren(...page.positions.map(positionRow));
  $("positions-empty").hidden = page.positions.length > 0;
  const first = page.total ? page.offset + 1 : 0;
  const last = page.offset + page.positions.length;
  $("positions-count").textContent = `${page.total} position${page.total === 1 ? "" : "s"}`;
  const pager = $("positions-pager");
  pager.hidden = page.total <= page.limit;
  pager.querySelector('[data-role="range"]').textContent = `${first}–${last} of ${page.total}`;
  pager.querySelector('[data-page-step="-1"]').disabled = page.offset === 0;
  pager.querySelector('[data-page-step="1"]').disabled = last >= page.total;
  renderSortHeaders();
}

function positionsPath() {
  const params = new URLSearchParams({ order_by: view.orderBy, asc: String(view.asc), limit: String(PAGE_SIZE),
    offset: String(view.offset) });
  if (view.status) params.set("status", view.status);
  return `/api/v2/positions?${params}`;
}

// ---- loading --------------------------------------------------------------------------------

async function loadPositions() {
  renderPositions(await getJson(positionsPath()));
}

async function loadPortfolio() {
  const status = $("portfolio-status");
  const error = $("portfolio-error");
  status.textContent = "loading…";
  try {
    const [summary, history, page] = await Promise.all([
      getJson("/api/v2/positions/summary"), getJson("/api/v2/portfolio/history"), getJson(positionsPath()),
    ]);
    renderKpis(summary);
    renderChart(history.snapshots);
    renderPositions(page);
    error.hidden = true;
    status.textContent = `as of ${formatTime(summary.as_of)}`;
  } catch (err) {
    error.hidden = false;
    error.textContent = err.message;
    status.textContent = "";
  }
}

async function reloadPositions() {
  try {
    await loadPositions();
    $("portfolio-error").hidden = true;
  } catch (err) {
    $("portfolio-error").hidden = false;
    $("portfolio-error").textContent = err.message;
  }
}

for (const button of section.querySelectorAll("[data-status-filter]")) {
  button.addEventListener("click", () => {
    view.status = button.dataset.statusFilter;
    view.offset = 0;
    reloadPositions();
  });
}
for (const th of section.querySelectorAll("th.sortable")) {
  th.addEventListener("click", () => {
    // The same column again flips the direction; a new one starts with the largest / newest.
    view.asc = th.dataset.sort === view.orderBy ? !view.asc : false;
    view.orderBy = th.dataset.sort;
    view.offset = 0;
    reloadPositions();
  });
}
for (const button of section.querySelectorAll("[data-page-step]")) {
  button.addEventListener("click", () => {
    view.offset = Math.max(0, view.offset + Number(button.dataset.pageStep) * PAGE_SIZE);
    reloadPositions();
  });
}
$("refresh-portfolio").addEventListener("click", loadPortfolio);
document.addEventListener("trueup:page", (event) => {
  if (event.detail === "portfolio") loadPortfolio();
});

renderSortHeaders();
if (!section.hidden) loadPortfolio();
// Only while the page is shown: a hidden page polls nothing.
setInterval(() => {
  if (!section.hidden) loadPortfolio();
}, 30000);
