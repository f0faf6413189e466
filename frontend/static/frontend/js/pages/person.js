// One person: their photos (newest first, by date taken, else uploaded) and, as a second view, their faces, several of
// which can be selected to confirm automatic matches, mark "not this person" or move to another person; rename, merge another person in (and undo it), split off faces that look like someone
// else, remove a wrong face (it is then "not them" for good, until undone), choose the cover, mark them never-match or
// hidden, delete or erase (with the receipt); and the history of who gave or took each face, and how.

import { api, loadPeople } from "../api.js";
import { $, h } from "../dom.js";
import { showReceipt } from "../erasure.js";
import { faceChecklist } from "../face_checklist.js";
import { formatDate, plural, similarity } from "../format.js";
import { libraries, ready } from "../library.js";
import { confirmDialog, showError, toast } from "../messages.js";
import { pager } from "../pager.js";
import { personPicker } from "../person_picker.js";

const personId = Number(document.querySelector("main").dataset.personId);
const errorBox = $("#person-error");
const grid = $("#face-grid");
const ASSIGNMENT = { manual: "named by hand", enrolled: "named by hand", automatic: "matched automatically" };
const HOW = {
  enrolled: "enrolled",
  manual: "named by hand",
  automatic: "named automatically",
  suggestion: "named from a suggestion",
  split: "split off",
  merge: "merged",
  unmerge: "given back by undoing a merge",
  unassign: "removed",
  reject: "marked not them",
};
let person = null;

/** Whether your role in the person's library lets you change them. */
const canManage = () => libraries.may("manage", person.library);

async function loadPerson() {
  try {
    person = await api(`/api/people/${personId}/`);
  } catch (error) {
    showError(errorBox, error);
    return false;
  }
  renderHead();
  $("#person").hidden = false;
  return true;
}

function renderHead() {
  document.title = `${person.name} · facesearch`;
  $("#crumb").textContent = person.name;
  $("#person-name").textContent = person.name;
  $("#person-meta").textContent = plural(person.face_count, "face");
  const role = libraries.role(person.library);
  $("#person-library").textContent =
    `In ${libraries.name(person.library)}${role ? ` (you are ${role}${canManage() ? "" : ": view only"})` : ""}`;
  $("#never-match").checked = person.never_match;
  $("#never-match").disabled = !canManage();
  $("#hide-person").checked = person.hidden;
  $("#hide-person").disabled = !canManage();
  $("#person-buttons").hidden = !canManage();
  $("#split").hidden = !canManage();
  $("#person-actions").hidden = !canManage();
  $("#rename-input").value = person.name;
  const cover = $("#person-cover");
  cover.hidden = !person.cover;
  if (person.cover) cover.src = person.cover.crop_url;
  cover.alt = `${person.name}'s cover face`;
  $("#faces-empty").hidden = person.face_count > 0;
  grid.querySelectorAll(".face-card").forEach((card) => {
    card.classList.toggle("is-cover", Number(card.dataset.faceId) === person.cover?.face_id);
  });
}

async function loadMergeChoices() {
  const select = $("#merge-select");
  const others = (await loadPeople(person.library)).filter((p) => p.id !== personId); // merging stays in a library
  select.replaceChildren(
    h("option", { value: "", text: others.length ? "Choose a person…" : "No other people" }),
    ...others.map((p) => h("option", { value: String(p.id), text: `${p.name} (${plural(p.face_count, "face")})` })),
  );
}

function faceCard(face) {
  const position = grid.children.length + 1;
  const box = h("input", {
    type: "checkbox",
    value: face.id,
    class: "face-select",
    hidden: !canManage(),
    "aria-label": `Select ${person.name}'s face ${position}${face.assignment === "automatic" ? " (matched automatically)" : ""}`,
  });
  const card = h(
    "li",
    {
      class: `card face-card selectable${face.id === person.cover?.face_id ? " is-cover" : ""}`,
      dataset: { faceId: face.id, assignment: face.assignment },
    },
    box,
    h(
      "a",
      { href: `/photos/${face.photo}/?face=${face.id}`, "aria-label": `The photo of ${person.name}'s face ${position}` },
      h("img", { src: face.crop_url, alt: `${person.name}, face ${position}`, loading: "lazy", width: 140, height: 140 }),
    ),
    h(
      "div",
      { class: "face-card-body" },
      h("span", { class: "muted", text: ASSIGNMENT[face.assignment] ?? "", title: "How the face was given this name" }),
      h(
        "div",
        { class: "row", hidden: !canManage() },
        h("button", {
          type: "button",
          class: "btn btn-small btn-danger",
          text: "Remove",
          "aria-label": `Remove face ${position} from ${person.name}`,
          on: { click: () => removeFace(face, card) },
        }),
        h("button", {
          type: "button",
          class: "btn btn-small btn-quiet",
          text: "Cover",
          title: "Use as cover face",
          "aria-label": `Use face ${position} as the cover`,
          on: { click: () => makeCover(face) },
        }),
      ),
    ),
  );
  return card;
}

async function removeFace(face, card) {
  try {
    await api(`/api/people/${personId}/faces/${face.id}/`, { method: "DELETE" });
    card.remove();
    toast(`The face is no longer ${person.name}'s and will not be suggested for them again; it is on Unknown faces.`);
    await loadPerson();
    reloadFaces(); // the others' positions, which their labels say, moved up
    reloadPhotos();
    reloadRejections();
    reloadHistory();
  } catch (error) {
    showError(errorBox, error);
  }
}

/** A face recorded as not this person, with Undo (which lets it be suggested or named as them again). */
function rejectionCard(face) {
  const position = $("#rejection-grid").children.length + 1;
  const card = h(
    "li",
    { class: "card face-card", dataset: { faceId: face.id } },
    h(
      "a",
      { href: `/photos/${face.photo}/?face=${face.id}`, "aria-label": `The photo of rejected face ${position}` },
      h("img", {
        src: face.crop_url,
        alt: `Not ${person.name}, rejected face ${position}`,
        loading: "lazy",
        width: 140,
        height: 140,
      }),
    ),
    h(
      "div",
      { class: "face-card-body" },
      h("span", { class: "muted", text: face.person ? `Now ${face.person.name}` : "Unknown" }),
      h("button", {
        type: "button",
        class: "btn btn-small",
        text: "Undo",
        hidden: !canManage(),
        "aria-label": `Undo: rejected face ${position} may be ${person.name}`,
        on: { click: () => undoRejection(face, card) },
      }),
    ),
  );
  return card;
}

let rejectionCount = 0;

function setRejectionCount(count) {
  rejectionCount = count;
  $("#rejections-count").textContent = `(${count})`;
  $("#rejections").hidden = count === 0;
}

async function undoRejection(face, card) {
  try {
    await api(`/api/people/${personId}/rejections/${face.id}/`, { method: "DELETE" });
    card.remove();
    setRejectionCount(rejectionCount - 1);
    toast(`The face may be suggested for ${person.name} again.`);
  } catch (error) {
    showError(errorBox, error);
  }
}

const rejections = pager($("#load-more-rejections"), errorBox, (page) => {
  $("#rejection-grid").append(...page.results.map(rejectionCard));
  setRejectionCount(page.count);
});

function reloadRejections() {
  rejections.start(`/api/people/${personId}/rejections/`, { before: () => $("#rejection-grid").replaceChildren() });
}

// ---------------------------------------------------------------------------------------------------------- history

/** A page of history events as entries: the events of one merge (or of its undo) are one entry, with Undo. */
function historyEntries(events) {
  const entries = [];
  for (const event of events) {
    const last = entries.at(-1);
    const merged = event.merge && (event.how === "merge" || event.how === "unmerge");
    if (merged && last?.merge?.id === event.merge.id && last.how === event.how) last.faces.push(event);
    else entries.push({ ...event, faces: [event], merged });
  }
  return entries.map(historyItem);
}

/** Whether this page is the person a merge entry merged in (shown on their page once the merge is undone). */
function mergedHere(entry) {
  return entry.how === "merge" ? entry.previous_person?.id === personId : entry.person?.id === personId;
}

function historyText(entry) {
  const faces = plural(entry.faces.length, "face");
  if (entry.merged && mergedHere(entry)) {
    const into = entry.faces.find((event) => event.person)?.person.name ?? "another person";
    return entry.how === "merge" ? `Merged into ${into} (${faces})` : `Given back by undoing that merge (${faces})`;
  }
  if (entry.merged && entry.how === "merge") {
    return `${entry.merge.other_name} merged in (${faces})${entry.merge.undone_at ? ", since undone" : ""}`;
  }
  if (entry.merged) return `Merge of ${entry.merge.other_name} undone (${faces} given back)`;
  const distance = entry.distance == null ? "" : ` (${similarity(entry.distance)}% similar)`;
  if (entry.person?.id === personId) {
    const from = entry.previous_person ? `, taken from ${entry.previous_person.name}` : "";
    return `Face ${entry.face_id} ${HOW[entry.how]}${distance}${from}`;
  }
  return `Face ${entry.face_id} ${HOW[entry.how]}${entry.person ? `: now ${entry.person.name}` : ""}`;
}

function historyItem(entry) {
  const undo =
    entry.merged && entry.how === "merge" && !entry.merge.undone_at && !mergedHere(entry) && canManage()
      ? h("button", {
          type: "button",
          class: "btn btn-small",
          text: "Undo merge",
          "aria-label": `Undo the merge of ${entry.merge.other_name}`,
          on: { click: () => undoMerge(entry.merge) },
        })
      : null;
  return h(
    "li",
    { class: "card history-entry", dataset: { how: entry.how, merge: entry.merge?.id ?? "" } },
    entry.faces.slice(0, 6).map((face) => h("img", { src: face.crop_url, alt: "", loading: "lazy", width: 40, height: 40 })),
    h("span", { class: "history-text", text: historyText(entry) }),
    h("span", { class: "muted small", text: entry.by ? `by ${entry.by}` : "by facesearch" }),
    h("time", { class: "muted small", datetime: entry.at, text: formatDate(entry.at) }),
    undo,
  );
}

const history = pager($("#load-more-history"), errorBox, (page) => {
  $("#history-list").append(...historyEntries(page.results));
});

function reloadHistory() {
  history.start(`/api/people/${personId}/history/`, { before: () => $("#history-list").replaceChildren() });
}

async function undoMerge(merge) {
  const ok = await confirmDialog({
    title: `Undo the merge of ${merge.other_name}?`,
    message: `${merge.other_name} comes back with the faces they had, and ${person.name} keeps the others.`,
    confirm: "Undo merge",
  });
  if (!ok) return;
  try {
    const other = await api(`/api/people/${personId}/merges/${merge.id}/undo/`, { method: "POST" });
    toast(`${other.name} is back with ${plural(other.face_count, "face")}.`);
    showError(errorBox, null);
    await refreshAll();
  } catch (error) {
    showError(errorBox, error);
  }
}

/** After a change that moved faces: the head, the faces, rejections, history and merge choices, all anew. */
async function refreshAll() {
  await loadPerson();
  reloadFaces();
  reloadRejections();
  reloadHistory();
  await loadMergeChoices();
}

// ------------------------------------------------------------------------------------------------------------ split

let splitPicker = null;
const splitBoxes = () => [...$("#split-groups").querySelectorAll("input[type=checkbox]")];
const splitTicked = () => splitBoxes().filter((box) => box.checked).map((box) => Number(box.value));

function updateSplit() {
  const count = splitTicked().length;
  $("#split-move").textContent = `Move ${plural(count, "face")}`;
  $("#split-move").disabled = !count || !splitPicker?.value();
}

function splitGroup(group, number) {
  const { list } = faceChecklist(group.faces, {
    number, idPrefix: "split-", listLabel: `Faces of split group ${number}`,
  });
  return h(
    "li",
    { class: "card suggestion", dataset: { faces: group.faces.map((face) => face.id).join(" ") } },
    h(
      "div",
      { class: "row row-between" },
      h("strong", { text: `Group ${number}: ${plural(group.faces.length, "face")}` }),
      h("span", { class: "muted", text: `${similarity(group.distance)}% like ${person.name}` }),
    ),
    list,
  );
}

async function findSplit() {
  const button = $("#split-find");
  button.disabled = true;
  try {
    const [split, people] = await Promise.all([api(`/api/people/${personId}/split/`), loadPeople(person.library)]);
    const note = $("#split-note");
    note.hidden = false;
    note.textContent = split.groups.length
      ? `${plural(split.kept.length, "face")} look like one person; ${plural(split.groups.length, "group")} may be ` +
        "someone else. Tick the faces to move."
      : `All ${plural(split.kept.length, "face")} look like one person: nothing to split.`;
    $("#split-groups").replaceChildren(...split.groups.map((group, i) => splitGroup(group, i + 1)));
    splitPicker = personPicker(
      people.filter((p) => p.id !== personId),
      { label: "Move the ticked faces to" },
    );
    $("#split-picker").replaceChildren(splitPicker.element);
    $("#split-form").hidden = !split.groups.length;
    updateSplit();
    showError(errorBox, null);
  } catch (error) {
    showError(errorBox, error);
  } finally {
    button.disabled = false;
  }
}

$("#split-find").addEventListener("click", findSplit);
$("#split-groups").addEventListener("change", updateSplit);
$("#split-form").addEventListener("pickchange", updateSplit);
$("#split-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const ids = splitTicked();
  const pick = splitPicker?.value();
  if (!ids.length || !pick) return;
  $("#split-move").disabled = true;
  const json = pick.newName ? { face_ids: ids, name: pick.newName } : { face_ids: ids, person_id: pick.personId };
  try {
    const result = await api(`/api/people/${personId}/split/`, { method: "POST", json });
    toast(`${plural(result.moved, "face")} moved to ${result.person.name}.`);
    await refreshAll();
    await findSplit();
  } catch (error) {
    splitPicker.showError(error); // beside the field
    updateSplit();
  }
});

async function makeCover(face) {
  try {
    person = await api(`/api/people/${personId}/`, { method: "PATCH", json: { cover_face_id: face.id } });
    renderHead();
    toast("Cover face changed.");
  } catch (error) {
    showError(errorBox, error);
  }
}

const faces = pager($("#load-more"), errorBox, (page) => {
  for (const face of page.results) grid.append(faceCard(face));
  $("#face-total").textContent = String(page.count);
  updateFaceSelection();
});

function reloadFaces() {
  faces.start(`/api/people/${personId}/faces/`, { before: () => grid.replaceChildren() });
}

// ----------------------------------------------------------------------------------------------- their photos

const photoGrid = $("#person-photo-grid");

function photoCard(photo) {
  const name = photo.original_name || `Photo ${photo.id}`;
  const taken = Boolean(photo.taken_at);
  const when = `${taken ? "Taken" : "Uploaded"} ${formatDate(taken ? photo.taken_at : photo.created_at)}`;
  const others = [
    ...new Set(photo.faces.map((face) => face.person).filter((p) => p && p.id !== personId).map((p) => p.name)),
  ];
  const card = h(
    "li",
    { dataset: { photoId: photo.id } },
    h(
      "a",
      { class: "card photo-card", href: `/photos/${photo.id}/`, title: name },
      h("img", {
        src: `${photo.url}${photo.url.includes("?") ? "&" : "?"}size=320`,
        alt: `${name}${others.length ? `, with ${others.join(", ")}` : ""}`,
        loading: "lazy",
        width: photo.width ?? 320,
        height: photo.height ?? 320,
      }),
      h(
        "span",
        { class: "photo-card-body" },
        others.length ? h("span", { class: "photo-card-people", text: `with ${others.join(", ")}` }) : null,
        h("span", { class: "photo-card-name", text: when }),
      ),
    ),
  );
  if (photo.width && photo.height) card.style.setProperty("--ratio", (photo.width / photo.height).toFixed(3));
  return card;
}

const personPhotos = pager($("#load-more-photos"), errorBox, (page) => {
  photoGrid.append(...page.results.map(photoCard));
  $("#photo-total").textContent = String(page.count);
  $("#photos-empty").hidden = page.count > 0;
});

function reloadPhotos() {
  personPhotos.start(`/api/photos/?person=${personId}&ordering=-date&page_size=48`, {
    before: () => photoGrid.replaceChildren(),
  });
}

photoGrid.addEventListener("click", (event) => {
  if (!event.target.closest("a.photo-card")) return;
  // The viewer steps through this person's photos, and Escape comes back here.
  const ids = [...photoGrid.children].map((li) => Number(li.dataset.photoId));
  sessionStorage.setItem("photo-sequence", JSON.stringify(ids));
  sessionStorage.setItem("photo-grid-url", location.pathname);
});

function showView(name) {
  for (const view of ["photos", "faces"]) {
    const on = view === name;
    $(`#tab-${view}`).setAttribute("aria-selected", String(on));
    $(`#tab-${view}`).tabIndex = on ? 0 : -1;
    $(`#${view}-view`).hidden = !on;
  }
  window.history.replaceState(null, "", name === "faces" ? "#faces" : location.pathname);
}

for (const view of ["photos", "faces"]) {
  $(`#tab-${view}`).addEventListener("click", () => showView(view));
  $(`#tab-${view}`).addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const other = view === "photos" ? "faces" : "photos";
    showView(other);
    $(`#tab-${other}`).focus();
  });
}

// -------------------------------------------------------------------------------------- several faces at once

const faceBoxes = () => [...grid.querySelectorAll(".face-select")];
const pickedFaces = () => faceBoxes().filter((box) => box.checked);
let faceAnchor = null;
let movePicker = null;

function updateFaceSelection() {
  const picked = pickedFaces();
  const automatic = picked.filter((box) => box.closest("li").dataset.assignment === "automatic");
  $("#face-selection").hidden = picked.length === 0;
  $("#faces-selected").textContent = `${picked.length} selected`;
  $("#faces-confirm").hidden = automatic.length === 0;
  $("#faces-confirm").textContent = `Confirm ${plural(automatic.length, "automatic match", "automatic matches")}`;
  const all = $("#faces-select-all");
  all.checked = picked.length > 0 && picked.length === faceBoxes().length;
  all.indeterminate = picked.length > 0 && !all.checked;
  $("#faces-move").disabled = !movePicker?.value();
}

grid.addEventListener("click", (event) => {
  const box = event.target.closest(".face-select");
  if (!box) return;
  const boxes = faceBoxes();
  if (event.shiftKey && faceAnchor && boxes.includes(faceAnchor)) {
    const [from, to] = [boxes.indexOf(faceAnchor), boxes.indexOf(box)].sort((a, b) => a - b);
    for (const each of boxes.slice(from, to + 1)) each.checked = box.checked;
  }
  faceAnchor = box;
  updateFaceSelection();
});

$("#faces-select-all").addEventListener("change", (event) => {
  for (const box of faceBoxes()) box.checked = event.target.checked;
  updateFaceSelection();
});
$("#faces-clear").addEventListener("click", () => {
  for (const box of faceBoxes()) box.checked = false;
  updateFaceSelection();
});

/** Run a change to the selected faces, then show everything it changed. */
async function onFaces(change, done) {
  const ids = pickedFaces().map((box) => Number(box.value));
  if (!ids.length) return;
  try {
    const result = await change(ids);
    showError($("#faces-error"), null);
    toast(done(ids, result));
    await refreshAll();
    reloadPhotos();
  } catch (error) {
    showError($("#faces-error"), error);
  }
}

$("#faces-confirm").addEventListener("click", () => {
  const automatic = pickedFaces().filter((box) => box.closest("li").dataset.assignment === "automatic");
  for (const box of pickedFaces()) box.checked = automatic.includes(box);
  onFaces(
    (ids) => api(`/api/people/${personId}/faces/`, { method: "POST", json: { face_ids: ids } }),
    (ids) => `${plural(ids.length, "face")} confirmed as ${person.name}.`,
  );
});

$("#faces-reject").addEventListener("click", () =>
  onFaces(
    (ids) => api(`/api/people/${personId}/rejections/`, { method: "POST", json: { face_ids: ids } }),
    (ids) => `${plural(ids.length, "face")} marked not ${person.name}: they are on Unknown faces, and will not be suggested for them again.`,
  ),
);

async function makeMovePicker() {
  const others = (await loadPeople(person.library)).filter((p) => p.id !== personId);
  movePicker = personPicker(others, { label: "Move to", placeholder: "Another person, or a new name…" });
  $("#faces-move-picker").replaceChildren(movePicker.element);
  updateFaceSelection();
}

$("#faces-move-form").addEventListener("pickchange", updateFaceSelection);
$("#faces-move-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const pick = movePicker?.value();
  const ids = pickedFaces().map((box) => Number(box.value));
  if (!pick || !ids.length) return;
  const json = pick.newName ? { face_ids: ids, name: pick.newName } : { face_ids: ids, person_id: pick.personId };
  try {
    const result = await api(`/api/people/${personId}/split/`, { method: "POST", json });
    toast(`${plural(result.moved, "face")} moved to ${result.person.name}.`);
    await refreshAll();
    reloadPhotos();
    await makeMovePicker();
  } catch (error) {
    movePicker.showError(error); // beside the field
  }
});

$("#rename-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("#rename-input").value.trim();
  if (!name || name === person.name) return;
  try {
    person = await api(`/api/people/${personId}/`, { method: "PATCH", json: { name } });
    renderHead();
    showError(errorBox, null);
    toast(`Renamed to ${person.name}.`);
  } catch (error) {
    showError(errorBox, error);
  }
});

$("#merge-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const select = $("#merge-select");
  const otherId = Number(select.value);
  if (!otherId) return;
  const otherName = select.selectedOptions[0].textContent;
  const ok = await confirmDialog({
    title: `Merge ${otherName} into ${person.name}?`,
    message: `Their faces become ${person.name}'s and ${otherName.replace(/ \(.*\)$/, "")} is deleted.`,
    confirm: "Merge",
  });
  if (!ok) return;
  try {
    const merged = await api(`/api/people/${personId}/merge/`, { method: "POST", json: { other_id: otherId } });
    const left = merged.merge.left_unassigned.length + merged.merge.same_photo.length;
    await refreshAll();
    showError(errorBox, null);
    toast(
      `Merged. ${person.name} now has ${plural(person.face_count, "face")}` +
        (left ? `; ${plural(left, "face")} left unknown (not them, or beside them in a photo).` : ".") +
        " Undo it from the history.",
    );
  } catch (error) {
    showError(errorBox, error);
  }
});

$("#delete-person").addEventListener("click", async () => {
  const ok = await confirmDialog({
    title: `Delete ${person.name}?`,
    message: `Their ${plural(person.face_count, "face")} and photos stay, as unknown faces.`,
    confirm: "Delete person",
    danger: true,
  });
  if (!ok) return;
  try {
    await api(`/api/people/${personId}/`, { method: "DELETE" });
    location.assign("/people/");
  } catch (error) {
    showError(errorBox, error);
  }
});

$("#never-match").addEventListener("change", async (event) => {
  const box = event.target;
  box.disabled = true;
  try {
    person = await api(`/api/people/${personId}/`, { method: "PATCH", json: { never_match: box.checked } });
    showError(errorBox, null);
    toast(
      person.never_match
        ? `${person.name} is never matched: searches and suggestions leave their faces out.`
        : `${person.name} can be matched again.`,
    );
  } catch (error) {
    showError(errorBox, error);
  } finally {
    renderHead();
  }
});

$("#hide-person").addEventListener("change", async (event) => {
  const box = event.target;
  box.disabled = true;
  try {
    person = await api(`/api/people/${personId}/`, { method: "PATCH", json: { hidden: box.checked } });
    showError(errorBox, null);
    toast(
      person.hidden
        ? `${person.name} is hidden: left off the People page and out of suggestions.`
        : `${person.name} is shown again.`,
    );
  } catch (error) {
    showError(errorBox, error);
  } finally {
    renderHead();
  }
});

$("#erase-person").addEventListener("click", async () => {
  const photos = h("input", { type: "checkbox", id: "erase-photos", name: "photos" });
  const ok = await confirmDialog({
    title: `Erase ${person.name}?`,
    message:
      `${person.name} and their ${plural(person.face_count, "face")} (the stored vectors and crops) are removed for ` +
      "good; a scan then checks that nothing of them is left, and you get a receipt. Their photos stay, unless:",
    body: h(
      "label",
      { class: "check", for: "erase-photos" },
      photos,
      "Also delete the photos in which they are the only face",
    ),
    confirm: "Erase",
    danger: true,
  });
  if (!ok) return;
  const params = new URLSearchParams({ erase: "true" });
  if (photos.checked) params.set("photos", "true");
  try {
    const receipt = await api(`/api/people/${personId}/?${params}`, { method: "DELETE" });
    await showReceipt(receipt, { title: `${person.name} erased`, close: "Back to People" });
    location.assign("/people/");
  } catch (error) {
    showError(errorBox, error);
  }
});

await ready;
if (await loadPerson()) {
  showView(location.hash === "#faces" ? "faces" : "photos");
  reloadPhotos();
  reloadFaces();
  reloadRejections();
  reloadHistory();
  if (canManage()) {
    loadMergeChoices().catch((error) => showError(errorBox, error));
    makeMovePicker().catch((error) => showError(errorBox, error));
  }
}
