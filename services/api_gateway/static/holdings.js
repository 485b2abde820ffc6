// Actual holdings per venue, from GET /api/positions/external. Numbers arrive as decimal strings
// and are shown as received: the browser never does arithmetic on money.

const VENUES = { kalshi: "Kalshi", polymarket: "Polymarket" };
const COLUMNS = ["instrument_id", "title", "outcome", "quantity", "avg_price", "cost_basis", "market_value", "realized_pnl"];
const NUMERIC = new Set(["quantity", "avg_price", "cost_basis", "market_value", "realized_pnl"]);

function cell(text, numeric) {
  const td = document.createElement("td");
  td.textContent = text ?? "—";
  if (numeric) td.className = "num";
  return td;
}

function renderVenue(article, venueView, error) {
  const field = (role) => article.querySelector(`[data-role="${role}"]`);
  const errorBox = field("error");
  errorBox.hidden = !error;
  errorBox.textContent = error ?? "";
  const tbody = field("positions").querySelector("tbody");
  if (!venueView) {
    field("status").textContent = "unavailable";
    field("status").dataset.status = "error";
    tbody.replaceChildren();
    return;
  }
  field("status").textContent = venueView.complete ? venueView.status : `${venueView.status} (incomplete)`;
  field("status").dataset.status = venueView.complete ? "ok" : venueView.status === "ok" ? "degraded" : venueView.status;
  field("account").textContent = venueView.account || "—";
  field("cash").textContent = venueView.balance ? `$${venueView.balance.cash}` : "—";
  field("age").textContent = `${venueView.age_seconds}s old`;
  tbody.replaceChildren(
    ...venueView.positions.map((position) => {
      const row = document.createElement("tr");
      row.append(...COLUMNS.map((name) => cell(position[name], NUMERIC.has(name))));
      return row;
    }),
  );
}

function venueArticles() {
  const container = document.getElementById("venues");
  if (!container.children.length) {
    const template = document.getElementById("venue-template");
    for (const [venue, name] of Object.entries(VENUES)) {
      const article = template.content.firstElementChild.cloneNode(true);
      article.dataset.venue = venue;
      article.querySelector('[data-role="name"]').textContent = name;
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
    const response = await fetch(`/api/positions/external?refresh=${refresh ? 1 : 0}`);
    body = await response.json();
  } catch (err) {
    status.textContent = "could not reach the API";
    return;
  }
  const external = body.external;
  for (const article of venueArticles()) {
    const venue = article.dataset.venue;
    renderVenue(article, external[venue], external.errors?.[venue]);
  }
  status.textContent = `as of ${new Date(external.snapshot_time).toLocaleTimeString()}`;
}

venueArticles();
document.getElementById("refresh-holdings").addEventListener("click", () => loadHoldings(true));
loadHoldings(false);
setInterval(() => loadHoldings(false), 15000);
