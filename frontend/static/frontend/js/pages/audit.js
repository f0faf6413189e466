// Audit log (owners): who searched, identified, verified or changed who is who in your libraries; filter by kind.

import { $, h } from "../dom.js";
import { formatDate } from "../format.js";
import { libraries, ready } from "../library.js";
import { pager } from "../pager.js";

const PAGE_SIZE = 50;
const rows = $("#audit-rows");
const kind = $("#audit-kind");

function outcome(entry) {
  if (entry.succeeded) return h("td", {}, h("span", { class: "badge badge-ok", text: "succeeded" }));
  const error = entry.detail?.error;
  return h(
    "td",
    { class: "is-failed" },
    h("span", { class: "badge badge-danger", text: "failed" }),
    error?.message ? ` ${error.message}` : null,
  );
}

function entryRow(entry) {
  const names = entry.library_ids.map((id) => libraries.name(id)).join(", ");
  return h(
    "tr",
    { dataset: { entryId: entry.id, kind: entry.kind } },
    h(
      "td",
      { title: formatDate(entry.created_at) },
      h("time", { datetime: entry.created_at, text: formatDate(entry.created_at) }),
    ),
    h(
      "td",
      {},
      entry.username || "anonymous",
      entry.api_key ? h("span", { class: "muted small", text: " (API key)" }) : null,
    ),
    h("td", { text: entry.kind }),
    h("td", { text: names || "none" }),
    h("td", { class: "num", text: entry.result_count }),
    h("td", { class: "num", text: entry.best_distance == null ? "" : entry.best_distance.toFixed(2) }),
    outcome(entry),
  );
}

const entries = pager($("#load-more"), $("#audit-error"), (page) => {
  rows.append(...page.results.map(entryRow));
  $("#audit-count").textContent = `(${page.count})`;
  $("#audit-box").hidden = rows.children.length === 0;
  $("#audit-empty").hidden = rows.children.length > 0;
  $("#audit-empty-text").textContent = kind.value ? `No ${kind.value} is logged.` : "Nothing logged yet.";
});

function reload() {
  const params = new URLSearchParams({ page_size: PAGE_SIZE });
  if (kind.value) params.set("kind", kind.value);
  entries.start(libraries.url(`/api/audit/?${params}`), { before: () => rows.replaceChildren() });
}

kind.addEventListener("change", reload);
$("#audit-filter").addEventListener("submit", (event) => event.preventDefault());

await ready;
const owned = libraries.list.filter((library) => library.role === "owner");
const current = libraries.current;
if (current && current.role !== "owner") {
  $("#audit-scope").textContent = `You are ${current.role} of ${current.name}: its audit log is its owners'.`;
} else if (current) {
  $("#audit-scope").textContent = `In ${current.name} (chosen in the bar).`;
} else {
  const names = owned.map((library) => library.name).join(", ");
  $("#audit-scope").textContent = owned.length
    ? `In the ${owned.length === 1 ? "library" : `${owned.length} libraries`} you own: ${names}.`
    : "You own no library: the audit log is its owners'.";
}
if (current ? current.role === "owner" : owned.length) reload();
else $("#audit-empty").hidden = false;
