// Photos: upload many files (one upload, one job) with a progress bar each, follow their processing, and browse the
// library as a timeline (grouped by month taken, else uploaded) filtered by who is in a photo (several: "A and B"), by
// unnamed faces, no faces or failures; select many (Shift-click ranges, select all) to delete or reprocess them.

import { ApiError, api, loadPeople, poll } from "../api.js";
import { $, dropTarget, h } from "../dom.js";
import { formatBytes, plural } from "../format.js";
import { libraries, ready } from "../library.js";
import { confirmDialog, showError, toast } from "../messages.js";
import { pager } from "../pager.js";
import { personPicker } from "../person_picker.js";

const PAGE_SIZE = 48;
const BATCH_FILES = 20; // files per request; the requests of one upload add to one job
const BATCH_BYTES = 64 * 1024 * 1024;
const POLL_MS = 1500;

const grid = $("#photo-grid");
const cards = new Map(); // photo id → <li>
const watchedCards = new Set(); // photo ids of cards still pending or processing
let photoCount = null;
let people = [];
const filters = { people: [], show: "" }; // people: [{id, name}]; show: "", "unnamed", "none", "failed"

// ------------------------------------------------------------------------------------------------ the grid

function thumbUrl(photo) {
  return `${photo.url}${photo.url.includes("?") ? "&" : "?"}size=320`;
}

/** The faces a person sees: not those the quality gate or a person's "Not a face" hid. */
function shownFaces(photo) {
  return (photo.faces ?? []).filter((face) => !face.hidden);
}

function badgeFor(photo) {
  if (photo.status === "done") {
    const n = shownFaces(photo).length;
    return h("span", { class: `badge${n ? " badge-accent" : ""}`, text: n ? plural(n, "face") : "no face" });
  }
  if (photo.status === "failed") return h("span", { class: "badge badge-danger", text: "failed", title: photo.error });
  return h("span", { class: "badge badge-warn" }, h("span", { class: "spinner", "aria-hidden": "true" }), photo.status);
}

/** Who is in the photo, as the card says it: the names, then how many faces nobody is named for. */
function peopleText(photo) {
  const faces = shownFaces(photo);
  const names = [...new Set(faces.map((face) => face.person?.name).filter(Boolean))];
  const unnamed = faces.filter((face) => !face.person && face.review !== "ignored").length;
  if (unnamed) names.push(names.length ? `+${unnamed} unnamed` : plural(unnamed, "unnamed face"));
  return names.join(", ");
}

/** When a photo is placed on the timeline: taken, else uploaded (and the card says which). */
function dateOf(photo) {
  const taken = Boolean(photo.taken_at);
  const date = new Date(taken ? photo.taken_at : photo.created_at);
  const month = date.toLocaleDateString(undefined, { year: "numeric", month: "long" });
  return { taken, key: `${taken ? "taken" : "uploaded"} ${date.getFullYear()}-${date.getMonth()}`, month };
}

function photoCard(photo) {
  const name = photo.original_name || `Photo ${photo.id}`;
  const who = peopleText(photo);
  const box = h("input", { type: "checkbox", value: photo.id, "aria-label": `Select ${name}` });
  const card = h(
    "li",
    { dataset: { photoId: photo.id, status: photo.status, date: dateOf(photo).key } },
    h("label", { class: "photo-select", title: "Select (Shift: a range)" }, box),
    h(
      "a",
      { class: "card photo-card", href: `/photos/${photo.id}/`, title: who ? `${name}: ${who}` : name },
      h("img", {
        src: thumbUrl(photo),
        alt: who ? `${name}, showing ${who}` : name,
        loading: "lazy",
        decoding: "async",
        width: photo.width && photo.height ? Math.round((320 * photo.width) / Math.max(photo.width, photo.height)) : 320,
        height: photo.width && photo.height ? Math.round((320 * photo.height) / Math.max(photo.width, photo.height)) : 320,
      }),
      badgeFor(photo),
      h(
        "span",
        { class: "photo-card-body" },
        who ? h("span", { class: "photo-card-people", text: who }) : null,
        h("span", { class: "photo-card-name", text: name }),
      ),
    ),
  );
  if (photo.width && photo.height) card.style.setProperty("--ratio", (photo.width / photo.height).toFixed(3));
  box.checked = selected.has(photo.id);
  return card;
}

/** The month heading a card goes under, made when the card is the first of its month. */
function dateHeading(photo) {
  const { taken, key, month } = dateOf(photo);
  return h(
    "li",
    { class: "date-group", dataset: { dateGroup: key } },
    h("h2", { class: "h-small" }, month, h("span", { class: "muted", text: taken ? " · taken" : " · uploaded (no date taken)" })),
  );
}

function showPhoto(photo, { prepend = false } = {}) {
  const card = photoCard(photo);
  const old = cards.get(photo.id);
  if (old) old.replaceWith(card);
  else if (prepend) {
    const first = grid.querySelector(".date-group");
    if (first?.dataset.dateGroup === card.dataset.date) first.after(card);
    else grid.prepend(dateHeading(photo), card);
  } else {
    const last = [...grid.children].reverse().find((li) => li.dataset.photoId);
    if (last?.dataset.date !== card.dataset.date) grid.append(dateHeading(photo));
    grid.append(card);
  }
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

function removeCard(id) {
  const card = cards.get(id);
  if (!card) return;
  const heading = card.previousElementSibling;
  card.remove();
  cards.delete(id);
  selected.delete(id);
  const next = heading?.nextElementSibling;
  if (heading?.classList.contains("date-group") && (!next || next.classList.contains("date-group"))) heading.remove();
}

function setCount(count) {
  photoCount = count;
  $("#photo-count").textContent = count == null ? "" : `(${count})`;
}

const photos = pager($("#load-more"), $("#photos-error"), (page) => {
  setCount(page.count);
  page.results.forEach((photo) => showPhoto(photo));
  $("#photos-empty").hidden = cards.size > 0;
  $("#photos-empty-text").textContent = filtered()
    ? "No photo matches these filters."
    : "No photos yet. Upload some above, or ingest a folder with the ingest command.";
  updateSelection();
});

async function refreshWatchedCards() {
  for (const id of [...watchedCards].slice(0, 12)) {
    try {
      showPhoto(await api(`/api/photos/${id}/`));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) removeCard(id);
      watchedCards.delete(id);
    }
  }
}

// --------------------------------------------------------------------------------------------------- filters

const filtered = () => filters.people.length > 0 || filters.show !== "";

/** The list's query: the people (all of them in a photo), what to show, newest first by date taken or uploaded. */
function listUrl() {
  const params = new URLSearchParams({ page_size: PAGE_SIZE, ordering: "-date" });
  for (const person of filters.people) params.append("person", person.id);
  if (filters.show === "failed") params.set("status", "failed");
  else if (filters.show) params.set("faces", filters.show);
  return libraries.url(`/api/photos/?${params}`);
}

/** The filters in the page's address, so Back from a photo (and a bookmark) finds the grid as it was. */
function saveFilters() {
  const params = new URLSearchParams();
  for (const person of filters.people) params.append("person", person.id);
  if (filters.show) params.set("show", filters.show);
  const query = params.toString();
  history.replaceState(null, "", query ? `/photos/?${query}` : "/photos/");
}

function renderChips() {
  $("#filter-people").replaceChildren(
    ...filters.people.map((person) =>
      h(
        "li",
        { class: "chip" },
        person.name,
        h("button", {
          type: "button",
          text: "×",
          "aria-label": `Remove filter: ${person.name}`,
          on: { click: () => setFilters({ people: filters.people.filter((p) => p.id !== person.id) }) },
        }),
      ),
    ),
  );
  $("#filter-clear").hidden = !filtered();
}

function setFilters(change) {
  Object.assign(filters, change);
  $("#filter-show").value = filters.show;
  renderChips();
  saveFilters();
  reload();
}

function reload() {
  selected.clear();
  photos.start(listUrl(), {
    before: () => {
      grid.replaceChildren();
      cards.clear();
    },
  });
}

let filterPicker = null;

function makeFilterPicker() {
  filterPicker = personPicker(people, {
    label: "With",
    placeholder: "Add a person…",
    onCommit: (pick) => {
      if (!pick.personId) {
        filterPicker.showError(`Nobody is called ${pick.newName}.`);
        return;
      }
      if (!filters.people.some((p) => p.id === pick.personId)) {
        setFilters({ people: [...filters.people, { id: pick.personId, name: pick.name }] });
      }
      filterPicker.set(null);
    },
  });
  $("#filter-picker").replaceChildren(filterPicker.element);
}

function readFilters() {
  const params = new URLSearchParams(location.search);
  const ids = params.getAll("person").map(Number);
  filters.people = ids.map((id) => people.find((p) => p.id === id)).filter(Boolean).map(({ id, name }) => ({ id, name }));
  filters.show = ["unnamed", "none", "failed"].includes(params.get("show")) ? params.get("show") : "";
  $("#filter-show").value = filters.show;
  renderChips();
}

$("#filter-show").addEventListener("change", (event) => setFilters({ show: event.target.value }));
$("#filter-clear").addEventListener("click", () => setFilters({ people: [], show: "" }));

// ------------------------------------------------------------------------------------------------- selecting

const selected = new Set();
let anchor = null; // the card a Shift-click range starts from

const cardIds = () => [...cards.keys()].sort((a, b) => order(a) - order(b));
const order = (id) => [...grid.children].indexOf(cards.get(id));

function updateSelection() {
  for (const [id, card] of cards) {
    const box = card.querySelector(".photo-select input");
    if (box) box.checked = selected.has(id);
  }
  const count = selected.size;
  $("#selection-bar").hidden = count === 0;
  $("#selected-count").textContent = `${count} selected`;
  const all = $("#select-all");
  all.checked = count > 0 && count === cards.size;
  all.indeterminate = count > 0 && count < cards.size;
}

grid.addEventListener("click", (event) => {
  const box = event.target.closest(".photo-select input");
  if (box) {
    const id = Number(box.value);
    if (event.shiftKey && anchor !== null && cards.has(anchor)) {
      const ids = cardIds();
      const [from, to] = [ids.indexOf(anchor), ids.indexOf(id)].sort((a, b) => a - b);
      for (const each of ids.slice(from, to + 1)) {
        if (box.checked) selected.add(each);
        else selected.delete(each);
      }
    } else if (box.checked) selected.add(id);
    else selected.delete(id);
    anchor = id;
    updateSelection();
    return;
  }
  if (event.target.closest("a.photo-card")) {
    // The viewer steps through the grid as it is (its filters and order), and Escape comes back to it.
    sessionStorage.setItem("photo-sequence", JSON.stringify(cardIds()));
    sessionStorage.setItem("photo-grid-url", location.pathname + location.search);
  }
});

function selectAll(on) {
  selected.clear();
  if (on) for (const id of cards.keys()) selected.add(id);
  updateSelection();
}

$("#select-all").addEventListener("change", (event) => selectAll(event.target.checked));
$("#selection-clear").addEventListener("click", () => selectAll(false));
document.addEventListener("keydown", (event) => {
  const typing = event.target.closest?.("input:not([type=checkbox]), select, textarea, dialog");
  if (typing) return;
  if ((event.ctrlKey || event.metaKey) && event.key === "a") {
    event.preventDefault();
    selectAll(true);
  } else if (event.key === "Escape" && selected.size) selectAll(false);
});

$("#selection-delete").addEventListener("click", async () => {
  const ids = [...selected];
  const ok = await confirmDialog({
    title: `Delete ${plural(ids.length, "photo")}?`,
    message: "Their faces and files are removed for good; the people in them keep their other photos.",
    confirm: `Delete ${plural(ids.length, "photo")}`,
    danger: true,
  });
  if (!ok) return;
  try {
    const result = await api("/api/photos/delete/", { method: "POST", json: { photo_ids: ids } });
    ids.forEach(removeCard);
    setCount((photoCount ?? ids.length) - result.deleted);
    toast(`${plural(result.deleted, "photo")} deleted.`);
    showError($("#selection-error"), null);
  } catch (error) {
    showError($("#selection-error"), error);
  }
  updateSelection();
});

$("#selection-reprocess").addEventListener("click", async () => {
  const ids = [...selected];
  try {
    const result = await api("/api/photos/reprocess/", { method: "POST", json: { photo_ids: ids } });
    toast(`${plural(result.queued, "photo")} queued to find their faces again; named faces keep their names.`);
    showError($("#selection-error"), null);
    selectAll(false);
    for (const id of ids) {
      const card = cards.get(id);
      if (card) showPhoto(await api(`/api/photos/${id}/`));
    }
  } catch (error) {
    showError($("#selection-error"), error);
  }
});

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
  const upload = { jobId: null }; // the files of one drop or pick are one upload: one job, however many requests
  for (const batch of intoBatches(added)) batches = batches.then(() => uploadBatch(batch, upload));
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

async function uploadBatch(batch, upload) {
  const form = new FormData();
  if (libraries.target) form.append("library", libraries.target.id);
  if (upload.jobId) form.append("job", upload.jobId);
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
    upload.jobId = body.job.id;
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
    const n = shownFaces(photo).length;
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
people = await loadPeople(libraries.current?.id).catch(() => []);
makeFilterPicker();
readFilters();
reload();
poll(refresh, { interval: POLL_MS });
