// Photos: upload many files with a progress bar each, follow their processing, and browse the library.

import { ApiError, api, poll } from "../api.js";
import { $, dropTarget, h } from "../dom.js";
import { formatBytes, plural } from "../format.js";
import { libraries, ready } from "../library.js";
import { pager } from "../pager.js";

const PAGE_SIZE = 48;
const BATCH_FILES = 20; // files per request: each request is one upload job
const BATCH_BYTES = 64 * 1024 * 1024;
const POLL_MS = 1500;

const grid = $("#photo-grid");
const cards = new Map(); // photo id → <li>
const watchedCards = new Set(); // photo ids of cards still pending or processing
let photoCount = null;

// ------------------------------------------------------------------------------------------------ the grid

function thumbUrl(photo) {
  return `${photo.url}${photo.url.includes("?") ? "&" : "?"}size=320`;
}

function badgeFor(photo) {
  if (photo.status === "done") {
    const n = photo.faces?.length ?? 0;
    return h("span", { class: `badge${n ? " badge-accent" : ""}`, text: n ? plural(n, "face") : "no face" });
  }
  if (photo.status === "failed") return h("span", { class: "badge badge-danger", text: "failed", title: photo.error });
  return h("span", { class: "badge badge-warn" }, h("span", { class: "spinner", "aria-hidden": "true" }), photo.status);
}

function photoCard(photo) {
  const name = photo.original_name || `Photo ${photo.id}`;
  const people = [...new Set((photo.faces ?? []).map((f) => f.person?.name).filter(Boolean))];
  return h(
    "li",
    { dataset: { photoId: photo.id, status: photo.status } },
    h(
      "a",
      { class: "card photo-card", href: `/photos/${photo.id}/`, title: people.length ? `${name}: ${people.join(", ")}` : name },
      h("img", {
        src: thumbUrl(photo),
        alt: people.length ? `${name}, showing ${people.join(", ")}` : name,
        loading: "lazy",
        decoding: "async",
        width: 320,
        height: 320,
      }),
      badgeFor(photo),
      h("span", { class: "photo-card-body" }, h("span", { class: "photo-card-name", text: name })),
    ),
  );
}

function showPhoto(photo, { prepend = false } = {}) {
  const card = photoCard(photo);
  const old = cards.get(photo.id);
  if (old) old.replaceWith(card);
  else if (prepend) grid.prepend(card);
  else grid.append(card);
  cards.set(photo.id, card);
  if (photo.status === "pending" || photo.status === "processing") watchedCards.add(photo.id);
  else watchedCards.delete(photo.id);
  const entry = entries.find((e) => e.photoId === photo.id && e.state === "processing");
  if (entry) {
    const text = photo.status === "pending" ? "Waiting for the worker…" : "Finding faces…";
    if (entry.stateText.textContent !== text) setEntry(entry, "processing", text);
  }
  $("#photos-empty").hidden = true;
}

function setCount(count) {
  photoCount = count;
  $("#photo-count").textContent = count == null ? "" : `(${count})`;
}

const photos = pager($("#load-more"), $("#photos-error"), (page) => {
  setCount(page.count);
  page.results.forEach((photo) => showPhoto(photo));
  $("#photos-empty").hidden = cards.size > 0;
});

async function refreshWatchedCards() {
  for (const id of [...watchedCards].slice(0, 12)) {
    try {
      showPhoto(await api(`/api/photos/${id}/`));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        cards.get(id)?.remove();
        cards.delete(id);
      }
      watchedCards.delete(id);
    }
  }
}

// ---------------------------------------------------------------------------------------------- uploading

const queueList = $("#upload-queue");
const entries = []; // {file, row, bar, state, photoId, text}
const jobsInFlight = new Set();
let batches = Promise.resolve();

function setEntry(entry, state, text, { progress, error } = {}) {
  entry.state = state;
  entry.row.dataset.state = state;
  entry.row.classList.toggle("is-done", state === "done" || state === "skipped");
  entry.row.classList.toggle("is-failed", state === "failed");
  entry.stateText.textContent = text;
  if (progress === null) entry.bar.removeAttribute("value");
  else if (progress !== undefined) entry.bar.value = progress;
  entry.bar.setAttribute("aria-valuetext", text);
  if (error) {
    entry.errorText.textContent = error;
    entry.errorText.hidden = false;
  }
  summarize();
}

function summarize() {
  const count = (...states) => entries.filter((e) => states.includes(e.state)).length;
  const uploading = count("queued", "uploading");
  const processing = count("processing");
  const parts = [];
  if (uploading) parts.push(`uploading ${uploading}`);
  if (processing) parts.push(`processing ${processing}`);
  const finished = count("done") + count("skipped");
  if (finished) parts.push(`${finished} done`);
  if (count("failed")) parts.push(`${count("failed")} failed`);
  $("#upload-summary").textContent = `${plural(entries.length, "file")}: ${parts.join(", ")}`;
  $("#upload-clear").hidden = uploading + processing === entries.length;
}

function addFiles(files) {
  if (!files.length) return;
  $("#upload-panel").hidden = false;
  const added = files.map((file) => {
    const bar = h("progress", { max: 100, value: 0, "aria-label": `Upload of ${file.name}` });
    const stateText = h("span", { class: "upload-state", text: "Queued" });
    const errorText = h("p", { class: "upload-error", role: "alert", hidden: true });
    const row = h(
      "li",
      { class: "upload-item", dataset: { name: file.name } },
      h("span", { class: "upload-name", title: file.name }, file.name, h("span", { class: "muted small", text: ` · ${formatBytes(file.size)}` })),
      stateText,
      bar,
      errorText,
    );
    queueList.append(row);
    const entry = { file, row, bar, stateText, errorText, state: "queued", photoId: null };
    entries.push(entry);
    return entry;
  });
  summarize();
  for (const batch of intoBatches(added)) batches = batches.then(() => uploadBatch(batch));
}

function intoBatches(list) {
  const out = [];
  let current = [];
  let bytes = 0;
  for (const entry of list) {
    if (current.length && (current.length >= BATCH_FILES || bytes + entry.file.size > BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += entry.file.size;
  }
  if (current.length) out.push(current);
  return out;
}

async function uploadBatch(batch) {
  const form = new FormData();
  if (libraries.target) form.append("library", libraries.target.id);
  const offsets = [];
  let sum = 0;
  for (const entry of batch) {
    form.append("files", entry.file, entry.file.name);
    offsets.push(sum);
    sum += entry.file.size;
    setEntry(entry, "uploading", "Uploading 0%", { progress: 0 });
  }
  // The files travel one after another in the request body: each file's share of the bytes sent is its progress.
  const onProgress = (loaded, total) => {
    const sent = (loaded / total) * sum;
    batch.forEach((entry, i) => {
      if (entry.state !== "uploading") return;
      const share = entry.file.size ? (sent - offsets[i]) / entry.file.size : 1;
      const percent = Math.round(Math.max(0, Math.min(1, share)) * 100);
      setEntry(entry, "uploading", percent >= 100 ? "Uploaded, checking…" : `Uploading ${percent}%`, { progress: percent });
    });
  };
  try {
    const body = await api("/api/photos/", { method: "POST", form, onProgress });
    jobsInFlight.add(body.job.id);
    body.results.forEach((result, i) => settleUpload(batch[i], result));
  } catch (error) {
    const perFile = error instanceof ApiError ? error.extra?.errors : null;
    batch.forEach((entry, i) => {
      const reason = perFile?.[i]?.message ?? error.message;
      setEntry(entry, "failed", "Refused", { progress: 100, error: reason });
    });
  }
}

function settleUpload(entry, result) {
  if (result.error) {
    setEntry(entry, "failed", "Refused", { progress: 100, error: result.error });
    return;
  }
  entry.photoId = result.photo.id;
  if (!result.created) {
    setEntry(entry, "skipped", "Already in the library", { progress: 100 });
    entry.stateText.append(" · ", photoLink(entry, "view"));
    return;
  }
  setEntry(entry, "processing", "Waiting for the worker…", { progress: null });
  setCount((photoCount ?? 0) + 1);
  showPhoto(result.photo, { prepend: true });
}

function photoLink(entry, text) {
  return h("a", { href: `/photos/${entry.photoId}/`, text, "aria-label": `${text}: ${entry.file.name}` });
}

/** Settle the upload rows of the jobs still in flight from their items' states. */
async function followJobs() {
  for (const jobId of [...jobsInFlight]) {
    let items;
    try {
      items = (await api(`/api/jobs/${jobId}/items/?page_size=500`)).results;
    } catch {
      continue;
    }
    let pending = 0;
    for (const item of items) {
      const entry = entries.find((e) => e.photoId === item.photo && e.state === "processing");
      if (item.state === "pending") pending += 1;
      if (!entry) continue;
      if (item.state === "done") await finishEntry(entry);
      else if (item.state === "failed") setEntry(entry, "failed", "Failed", { progress: 100, error: item.error });
    }
    if (!pending) jobsInFlight.delete(jobId);
  }
}

async function finishEntry(entry) {
  try {
    const photo = await api(`/api/photos/${entry.photoId}/`);
    showPhoto(photo);
    if (photo.status === "failed") {
      setEntry(entry, "failed", "Failed", { progress: 100, error: photo.error });
      return;
    }
    const n = photo.faces.length;
    setEntry(entry, "done", "Done · ", { progress: 100 });
    entry.stateText.append(photoLink(entry, n ? plural(n, "face") : "no face found"));
  } catch (error) {
    setEntry(entry, "failed", "Failed", { progress: 100, error: error.message });
  }
}

/** Say where uploads go (the chosen library, or your personal one), or why you cannot add photos here. */
function showUploadTarget() {
  const target = libraries.target;
  if (libraries.error) return; // libraries unknown: the API puts uploads in your personal library
  if (target && libraries.may("upload", target.id)) {
    $("#upload-target").textContent = target.name;
    $("#upload-note").hidden = Boolean(libraries.current);
    $("#upload-note").textContent =
      "All libraries are shown; uploads go to your personal library. Choose a library in the bar to add to another.";
    return;
  }
  $("#upload-drop").hidden = true;
  $("#upload-refused").hidden = false;
  $("#upload-refused").textContent = target
    ? `You are ${target.role} of ${target.name}: you can see and search its photos, not add to them.`
    : "You have no personal library: choose a library in the bar to upload to.";
}

$("#upload-pick").addEventListener("click", () => $("#upload-files").click());
$("#upload-files").addEventListener("change", (event) => {
  addFiles([...event.target.files]);
  event.target.value = "";
});
dropTarget($("#upload-drop"), addFiles);
$("#upload-clear").addEventListener("click", () => {
  for (const entry of [...entries]) {
    if (entry.state === "done" || entry.state === "skipped" || entry.state === "failed") {
      entry.row.remove();
      entries.splice(entries.indexOf(entry), 1);
    }
  }
  $("#upload-panel").hidden = entries.length === 0;
  summarize();
});

/** Bring the upload rows and the cards of photos still being processed up to date. */
async function refresh() {
  await followJobs();
  await refreshWatchedCards();
}

await ready;
showUploadTarget();
photos.start(libraries.url(`/api/photos/?page_size=${PAGE_SIZE}`));
poll(refresh, { interval: POLL_MS });
