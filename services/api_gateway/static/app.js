// The UI shell: plain ES module, no build step, no CDN. Later views add their own modules.

import { formatDateTime, formatTime } from "./format.js";

// A check's value that is a moment (a service's start, a feed's last poll) reads like every other
// time in the UI; anything else is shown as the service sent it.
const ISO_MOMENT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text; // textContent, never innerHTML: service text is not trusted markup
  return td;
}

// One line per check (a venue feed's poll, lag and quarantine count read as one line each).
function detailCell(detail) {
  const td = document.createElement("td");
  td.className = "health-detail";
  td.append(
    ...Object.entries(detail).map(([check, value]) => {
      const line = document.createElement("div");
      const name = document.createElement("span");
      name.className = "check-name";
      name.textContent = `${check}: `;
      line.append(name, typeof value === "string" && ISO_MOMENT.test(value)
        ? formatDateTime(value, { seconds: true }) : value);
      return line;
    }),
  );
  return td;
}

export async function refreshHealth() {
  const overall = document.getElementById("overall");
  const tbody = document.querySelector("#health tbody");
  let body;
  try {
    const response = await fetch("/api/health", { headers: { accept: "application/json" } });
    body = await response.json();
  } catch (err) {
    overall.textContent = "api unreachable";
    overall.dataset.status = "down";
    return;
  }
  overall.textContent = body.status;
  overall.dataset.status = body.status;
  tbody.replaceChildren(
    ...Object.entries(body.services).map(([name, svc]) => {
      const row = document.createElement("tr");
      const status = cell(svc.status);
      status.dataset.status = svc.status;
      row.append(cell(name), status, detailCell(svc.detail));
      return row;
    }),
  );
  document.getElementById("health-updated").textContent = formatTime(new Date());
}

// Pages: a section per page (`data-page`), picked by the URL's hash (#portfolio); the overview
// (ledger vs venues) by default: it is the home page. Sections without `data-page` (services) show on every page.
function currentPage() {
  const page = location.hash.slice(1);
  return document.querySelector(`section[data-page="${CSS.escape(page)}"]`) ? page : "overview";
}

function showPage() {
  const page = currentPage();
  for (const section of document.querySelectorAll("section[data-page]")) section.hidden = section.dataset.page !== page;
  for (const link of document.querySelectorAll("nav a[data-page]")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.dispatchEvent(new CustomEvent("trueup:page", { detail: page }));
}

window.addEventListener("hashchange", showPage);
showPage();
refreshHealth();
setInterval(refreshHealth, 5000);
