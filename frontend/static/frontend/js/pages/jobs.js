// Jobs: ingest jobs with live progress bars, failed items with their reasons, and retry.

import { api, poll } from "../api.js";
import { $, h } from "../dom.js";
import { formatDate, plural, timeAgo } from "../format.js";
import { libraries, ready } from "../library.js";
import { showError, toast } from "../messages.js";
import { pager } from "../pager.js";

const POLL_MS = 2000;
const list = $("#job-list");
const errorBox = $("#jobs-error");
const rows = new Map(); // job id → {li, job, open}
const SOURCE = { upload: "Upload", folder: "Folder ingest", reprocess: "Re-encode" };
const STATE_BADGE = {
  pending: ["badge-warn", "adding files"],
  running: ["badge-accent", "running"],
  done: ["badge-ok", "done"],
  interrupted: ["badge-danger", "interrupted"],
};

const signature = (job) =>
  [job.state, job.total, job.pending, job.done, job.skipped, job.failed, job.retryable].join();
const isLive = (job) => job.state === "pending" || job.state === "running";

function failureList(failures) {
  if (!failures.length) return h("p", { class: "muted small", text: "No failed items." });
  return h(
    "ul",
    { class: "failures" },
    failures.map((item) =>
      h(
        "li",
        {},
        item.photo
          ? h("a", { class: "name", href: `/photos/${item.photo}/`, text: item.name })
          : h("span", { class: "name", text: item.name }),
        h("span", { text: item.error || "failed" }),
      ),
    ),
  );
}

function jobRow(job) {
  const [badgeClass, badgeText] = STATE_BADGE[job.state] ?? ["", job.state];
  const percent = Math.round(job.progress * 100);
  const counts = `${job.done} done, ${job.skipped} already stored, ${job.failed} failed`;
  const li = h("li", { class: `card job${job.failed ? " has-failures" : ""}`, dataset: { jobId: job.id, state: job.state } });
  const title = `${SOURCE[job.source] ?? job.source} #${job.id}`;
  const share = (n) => `${job.total ? (n / job.total) * 100 : 0}%`;
  const progress = h(
    "div",
    {
      class: "segbar",
      role: "progressbar",
      "aria-label": `Progress of ${title}`,
      "aria-valuemin": 0,
      "aria-valuemax": 100,
      "aria-valuenow": percent,
      "aria-valuetext": `${percent}% of ${plural(job.total, "item")}: ${counts}`,
    },
    h("span", { class: "seg seg-done", style: { width: share(job.done) } }),
    h("span", { class: "seg seg-skipped", style: { width: share(job.skipped) } }),
    h("span", { class: "seg seg-failed", style: { width: share(job.failed) } }),
  );
  // Retry only what a retry can help: a refused upload's bytes were never kept, so only uploading it again can.
  const retry =
    job.retryable && !isLive(job) && (libraries.error || libraries.may("upload", job.library))
      ? h("button", {
          type: "button",
          class: "btn btn-small",
          text: job.retryable < job.failed ? `Retry ${plural(job.retryable, "item")}` : "Retry failed items",
          on: { click: () => retryJob(job, retry) },
        })
      : null;
  li.append(
    h(
      "div",
      { class: "job-head" },
      h("h2", { class: "job-title", text: title }),
      h("span", { class: `badge ${badgeClass}` }, isLive(job) ? h("span", { class: "spinner", "aria-hidden": "true" }) : null, badgeText),
      h("span", { class: "muted small", title: formatDate(job.created_at), text: `${job.created_by ? `${job.created_by}, ` : ""}${timeAgo(job.created_at)}` }),
      libraries.current ? null : h("span", { class: "badge", title: "Library", text: libraries.name(job.library) }),
      retry,
    ),
    h("div", { class: "job-path", text: job.path, hidden: !job.path }),
    job.failed > job.retryable
      ? h("p", {
          class: "muted small job-refused",
          text: `${plural(job.failed - job.retryable, "file")} refused: never stored, so a retry cannot help; fix or upload ${
            job.failed - job.retryable === 1 ? "it" : "them"
          } again.`,
        })
      : null,
    progress,
    h(
      "ul",
      { class: "job-counts" },
      h("li", {}, h("b", { text: `${percent}%` }), ` of ${plural(job.total, "item")}`),
      h("li", { class: "key-done" }, h("b", { text: job.done }), " done"),
      h("li", { class: "key-skipped" }, h("b", { text: job.skipped }), " already stored"),
      h("li", { class: "key-failed" }, h("b", { text: job.failed }), " failed"),
      job.pending ? h("li", {}, h("b", { text: job.pending }), " waiting") : null,
    ),
  );
  if (job.failed) {
    const details = h("details", {}, h("summary", { text: `${plural(job.failed, "failed item")}: reasons` }));
    const body = h("div", {}, h("p", { class: "muted small", text: "Loading…" }));
    details.append(body);
    details.addEventListener("toggle", async () => {
      const row = rows.get(job.id);
      if (row) row.open = details.open;
      if (details.open) await showFailures(job.id, body);
    });
    details.open = Boolean(rows.get(job.id)?.open);
    li.append(details);
  }
  return li;
}

async function showFailures(jobId, body) {
  try {
    const detail = await api(`/api/jobs/${jobId}/`);
    body.replaceChildren(failureList(detail.failures));
  } catch (error) {
    body.replaceChildren(h("p", { class: "alert alert-error", text: error.message }));
  }
}

async function retryJob(job, button) {
  button.disabled = true;
  try {
    const result = await api(`/api/jobs/${job.id}/retry/`, { method: "POST" });
    toast(
      result.retried
        ? `${plural(result.retried, "item")} queued again.`
        : "Nothing could be retried: refused uploads were never stored; upload those files again.",
      result.retried ? "info" : "error",
    );
    show(result.job);
  } catch (error) {
    showError(errorBox, error);
  } finally {
    button.disabled = false;
  }
}

function show(job, { append = false } = {}) {
  const previous = rows.get(job.id);
  rows.set(job.id, { ...previous, job });
  const li = jobRow(job);
  rows.get(job.id).li = li;
  if (previous?.li) previous.li.replaceWith(li);
  else if (append) list.append(li);
  else list.prepend(li);
  const details = li.querySelector("details");
  if (details?.open) showFailures(job.id, details.lastElementChild);
}

const jobs = pager($("#load-more"), errorBox, (page) => {
  page.results.forEach((job) => show(job, { append: true }));
  $("#jobs-empty").hidden = rows.size > 0;
});

/** New jobs appear at the top; live ones are refreshed until they finish. */
async function refresh() {
  try {
    const first = await api(libraries.url("/api/jobs/?page_size=20"));
    for (const job of [...first.results].reverse()) {
      const known = rows.get(job.id)?.job;
      if (!known || signature(known) !== signature(job)) show(job);
    }
    for (const { job } of [...rows.values()]) {
      if (isLive(job) && !first.results.some((j) => j.id === job.id)) show(await api(`/api/jobs/${job.id}/`));
    }
    $("#jobs-empty").hidden = rows.size > 0;
  } catch (error) {
    showError(errorBox, error);
  }
}

await ready;
await jobs.start(libraries.url("/api/jobs/?page_size=20"));
poll(refresh, { interval: POLL_MS });
