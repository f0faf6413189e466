// One photo: the image with its faces boxed and named; name a face (existing or new person), unassign, draw a face
// the detector missed, delete.

import { api, assignFaces, loadPeople, poll } from "../api.js";
import { $, h } from "../dom.js";
import { dragBox, drawFaceBoxes, fitStage } from "../face_boxes.js";
import { reviewButtons, reviewStatus } from "../face_review.js";
import { formatBytes, formatDate, plural, similarity } from "../format.js";
import { libraries, ready } from "../library.js";
import { confirmDialog, showError, toast } from "../messages.js";
import { personPicker } from "../person_picker.js";

const photoId = Number(document.querySelector("main").dataset.photoId);
const activeFace = Number(new URLSearchParams(location.search).get("face")) || null;
const errorBox = $("#photo-error");
const image = $("#photo-image");
let photo = null;
let people = [];
let active = activeFace;

/** The faces listed and boxed: hidden ones (not a face, or probably not one) only when "Show hidden" is ticked. */
const shownFaces = () => photo.faces.filter((face) => !face.hidden || $("#show-hidden-faces").checked);

/** Whether your role in the photo's library lets you name its faces and delete it. */
const canManage = () => libraries.may("manage", photo.library);
/** Whether you may add faces to it (drawn by hand), as you may add photos. */
const canDraw = () => libraries.may("upload", photo.library) && photo.status === "done";

/** Resolves to the photo, or to null when it could not be loaded (the error is shown). */
async function load() {
  try {
    photo = await api(`/api/photos/${photoId}/`);
    people = canManage() ? await loadPeople(photo.library) : []; // a face is named after a person of its library
  } catch (error) {
    showError(errorBox, error);
    return null;
  }
  showError(errorBox, null);
  render();
  return photo;
}

const processing = (loaded) => loaded?.status === "pending" || loaded?.status === "processing";

const ZOOM = 2.5; // times the fitted width; the frame scrolls, and the face boxes (in % of the photo) follow
let zoomed = false;

/** The photo fitted to the page, or ZOOM times as wide inside its scrolling frame. */
function showAtZoom() {
  const stage = $("#stage");
  stage.style.maxWidth = "";
  fitStage(stage, photo.width, photo.height, { maxHeight: "78vh" });
  if (zoomed) {
    stage.style.width = `${Math.round(stage.getBoundingClientRect().width * ZOOM)}px`;
    stage.style.maxWidth = "none";
  }
  $("#photo-frame").classList.toggle("is-zoomed", zoomed);
  const button = $("#photo-zoom");
  button.setAttribute("aria-pressed", String(zoomed));
  button.textContent = zoomed ? "Fit" : "Zoom";
}

function zoomToggle() {
  if (!photo?.width || !photo?.height) return;
  zoomed = !zoomed;
  showAtZoom();
}

$("#photo-zoom").addEventListener("click", zoomToggle);

function render() {
  const name = photo.original_name || `Photo ${photo.id}`;
  document.title = `${name} · facesearch`;
  $("#crumb").textContent = name;
  $("#photo-title").textContent = name;
  if (image.getAttribute("src") !== photo.url) image.src = photo.url;
  if (photo.width && photo.height) showAtZoom();
  image.alt = name;
  $("#photo-detail").hidden = false;

  const facts = [
    ["Status", statusText()],
    ["Size", `${photo.width ?? "?"} × ${photo.height ?? "?"} px, ${formatBytes(photo.size)}`],
    photo.taken_at ? ["Taken", formatDate(photo.taken_at)] : null, // nothing to say when the file had no date
    ["Added", `${formatDate(photo.created_at)}${photo.uploaded_by ? ` by ${photo.uploaded_by}` : ""}`],
    ["Library", libraryText()],
  ];
  $("#facts").replaceChildren(...facts.filter(Boolean).flatMap(([term, value]) => [h("dt", { text: term }), h("dd", {}, value)]));

  const faces = shownFaces();
  $("#face-count").textContent = faces.length ? `(${faces.length})` : "";
  const hiddenCount = photo.faces.filter((face) => face.hidden).length;
  $("#hidden-faces").hidden = !hiddenCount;
  $("#hidden-face-text").textContent = `Show ${plural(hiddenCount, "hidden face")} (probably not faces, or marked "Not a face")`;
  const emptyText = $("#faces-empty");
  emptyText.hidden = faces.length > 0;
  emptyText.textContent =
    photo.status === "done" ? "No face was found in this photo." : photo.status === "failed" ? "" : "Looking for faces…";
  drawFaceBoxes(
    image,
    faces.map((face) => ({
      box: face.box,
      known: Boolean(face.person),
      drawn: face.source === "drawn",
      hidden: face.hidden,
      active: face.id === active,
      label: face.person?.name ?? "?",
      title: reviewStatus(face) || `${face.person ? `Face of ${face.person.name}` : "Unknown face: name it in the list"}${
        face.source === "drawn" ? " (drawn by hand)" : ""
      }`,
    })),
    {
      size: { width: photo.width, height: photo.height },
      maxHeight: "78vh",
      fit: !zoomed, // zoomed, the stage keeps its zoomed width (showAtZoom)
      onSelect: (i) => select(faces[i].id, true),
    },
  );
  $("#face-list").replaceChildren(...faces.map(faceRow));
  $("#naming-help").hidden = !canManage() || !faces.length;
  $("#photo-danger").hidden = !canManage();
  $("#draw-face").hidden = !canDraw();
}

function libraryText() {
  const role = libraries.role(photo.library);
  return h(
    "span",
    { class: "photo-library" },
    libraries.name(photo.library),
    role ? h("span", { class: "muted", text: ` (you are ${role}${canManage() ? "" : ": view only"})` }) : null,
  );
}

function statusText() {
  if (photo.status === "failed") return h("span", { class: "badge badge-danger", text: `failed: ${photo.error}` });
  if (photo.status === "done") return h("span", { class: "badge badge-ok", text: "processed" });
  return h("span", { class: "badge badge-warn" }, h("span", { class: "spinner", "aria-hidden": "true" }), photo.status);
}

function select(faceId, focus = false) {
  active = faceId;
  document.querySelectorAll(".facebox").forEach((box, i) => {
    box.classList.toggle("is-active", shownFaces()[i].id === faceId);
  });
  document.querySelectorAll(".face-row").forEach((row) => {
    row.classList.toggle("is-active", Number(row.dataset.faceId) === faceId);
  });
  const row = document.querySelector(`.face-row[data-face-id="${faceId}"]`);
  if (row && focus) {
    row.scrollIntoView({ block: "nearest", behavior: "smooth" });
    row.querySelector(".picker input")?.focus({ preventScroll: true });
  }
}

/** Name a face by hand (a person id; the same person confirms an automatic match) or unassign it (null). */
async function setPerson(face, personId, message) {
  try {
    await api(`/api/faces/${face.id}/`, { method: "PATCH", json: { person: personId } });
    toast(message);
    await refresh(face.id);
  } catch (error) {
    showError(errorBox, error);
  }
}

/** What a screen reader calls a face: by its position in the photo, never by a database id. */
const faceLabel = (i) => `Face ${i + 1} of ${shownFaces().length} in ${photo.original_name || "this photo"}`;

/** The naming field of the face at `i` (of the list as rendered), if it has one. */
const pickerAt = (i) => document.querySelectorAll(".face-row .picker input")[i] ?? null;

/**
 * Name a face from its field: Enter or Tab names it (creating the person for a new name) and moves on to the next
 * face's field, so all faces of a photo are named from the keyboard in one go. Errors stay beside the field.
 */
async function nameFace(face, i, picker, pick) {
  if (pick.personId && pick.personId === face.person?.id && face.assignment !== "automatic") {
    pickerAt(i + 1)?.focus(); // already theirs: nothing to save
    return;
  }
  picker.input.disabled = true;
  try {
    const person = await assignFaces([face.id], pick, photo.library);
    if (pick.newName) people = await loadPeople(photo.library);
    $("#naming-status").textContent = `Face ${i + 1} is now ${person.name}.`;
    await refresh(face.id);
    const next = pickerAt(i + 1);
    if (next) next.focus();
    else pickerAt(i)?.blur();
  } catch (error) {
    picker.input.disabled = false;
    picker.showError(error);
    picker.focus();
  }
}

function faceRow(face, i) {
  const manage = canManage();
  const picker = personPicker(people, {
    label: face.person ? `Change face ${i + 1} to` : `Name face ${i + 1}`,
    placeholder: face.person ? face.person.name : "Who is this? Type a name…",
    onCommit: (pick) => nameFace(face, i, picker, pick),
  });
  picker.input.setAttribute("aria-describedby", `${picker.input.getAttribute("aria-describedby")} naming-help`);
  picker.input.addEventListener("keydown", (event) => {
    if (event.key !== "Tab" || event.shiftKey || event.defaultPrevented || picker.input.value.trim()) return;
    const next = pickerAt(i + 1); // Tab in an empty field: on to the next face, past this one's buttons
    if (next) {
      event.preventDefault();
      next.focus();
    }
  });
  const actions = h(
    "div",
    { class: "face-row-actions" },
    h("a", { class: "btn btn-small", href: `/?face=${face.id}`, text: "Find similar" }),
    manage && face.assignment === "automatic"
      ? h("button", {
          type: "button",
          class: "btn btn-small",
          text: "Confirm",
          "aria-label": `Confirm face ${i + 1} is ${face.person.name}`,
          on: { click: () => setPerson(face, face.person.id, `Face ${i + 1} confirmed as ${face.person.name}.`) },
        })
      : null,
    manage && face.person
      ? h("button", {
          type: "button",
          class: "btn btn-small btn-quiet",
          text: "Unassign",
          on: { click: () => setPerson(face, null, `Face ${i + 1} is unknown again.`) },
        })
      : null,
    manage
      ? reviewButtons(face, {
          name: `face ${i + 1}`,
          onDone: () => refresh(face.id),
          onError: (error) => showError(errorBox, error),
        })
      : null,
  );
  const nameNode = face.person
    ? h("a", { class: "face-row-name", href: `/people/${face.person.id}/`, text: face.person.name })
    : h("span", { class: "face-row-name is-unknown", text: "Unknown" });
  const row = h(
    "li",
    {
      class: `face-row${face.id === active ? " is-active" : ""}`,
      dataset: { faceId: face.id },
      "aria-label": faceLabel(i),
    },
    h("img", { class: "avatar", src: face.crop_url, alt: faceLabel(i), width: 56, height: 56 }),
    h(
      "div",
      {},
      h("span", { class: "muted small", text: `Face ${i + 1} · ` }),
      nameNode,
      face.source === "drawn" ? h("span", { class: "muted small", text: " · drawn by hand" }) : null,
      reviewStatus(face) ? h("span", { class: "badge badge-warn face-status", text: reviewStatus(face) }) : null,
      face.assignment === "automatic"
        ? h("span", {
            class: "muted small",
            text: ` · matched automatically (${similarity(face.assignment_distance)}% similar)`,
          })
        : null,
    ),
    actions,
    manage ? picker.element : null,
  );
  row.addEventListener("focusin", () => select(face.id));
  return row;
}

$("#show-hidden-faces").addEventListener("change", () => render());

async function refresh(faceId) {
  photo = await api(`/api/photos/${photoId}/`);
  render();
  if (faceId) select(faceId);
}

$("#add-face").addEventListener("click", async () => {
  const button = $("#add-face");
  const hint = $("#draw-hint");
  const idle = hint.textContent;
  button.disabled = true;
  hint.textContent = "Drag a box around the face on the photo (Escape cancels).";
  try {
    const box = await dragBox(image, { size: { width: photo.width, height: photo.height } });
    if (!box) return;
    if (box[2] - box[0] < 1 || box[3] - box[1] < 1) {
      toast("Drag to draw a box around the face.", "error");
      return;
    }
    hint.textContent = "Finding the face in the box…";
    const face = await api(`/api/photos/${photoId}/faces/`, { method: "POST", json: { box } });
    showError(errorBox, null);
    toast("Face added: name it in the list.");
    await refresh(face.id);
    select(face.id, true);
  } catch (error) {
    showError(errorBox, error);
  } finally {
    button.disabled = false;
    hint.textContent = idle;
  }
});

$("#delete-photo").addEventListener("click", async () => {
  const ok = await confirmDialog({
    title: "Delete this photo?",
    message: `Its ${plural(photo?.faces.length ?? 0, "face")} and the file are removed for good.`,
    confirm: "Delete photo",
    danger: true,
  });
  if (!ok) return;
  try {
    await api(`/api/photos/${photoId}/`, { method: "DELETE" });
    location.assign("/photos/");
  } catch (error) {
    showError(errorBox, error);
  }
});

// ------------------------------------------------------------------------------------------- previous, next, back

/** The photos the grid showed, in its order (its filters included), as it left them for the viewer. */
function sequence() {
  try {
    const ids = JSON.parse(sessionStorage.getItem("photo-sequence") ?? "[]");
    return ids.includes(photoId) ? ids : [];
  } catch {
    return [];
  }
}

function showNeighbours() {
  const ids = sequence();
  const at = ids.indexOf(photoId);
  for (const [selector, id] of [["#photo-prev", ids[at - 1]], ["#photo-next", ids[at + 1]]]) {
    const link = $(selector);
    link.hidden = id === undefined;
    if (id !== undefined) link.href = `/photos/${id}/`;
  }
  $("#photo-position").textContent = at >= 0 ? `${at + 1} of ${ids.length}` : "";
  const grid = sessionStorage.getItem("photo-grid-url");
  if (grid?.startsWith("/photos/")) $("#photo-back").href = grid; // back to the grid as it was filtered
}

const typing = (target) => target.closest?.("input, select, textarea, [contenteditable], dialog");

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
  if ($("#add-face").disabled) return; // drawing a face: Escape cancels that
  const go = { ArrowLeft: "#photo-prev", ArrowRight: "#photo-next" }[event.key];
  if (go && !$(go).hidden) {
    event.preventDefault();
    location.assign($(go).href);
  } else if (event.key === "Escape" && zoomed) {
    event.preventDefault();
    zoomToggle(); // Escape first leaves the zoom, then the photo
  } else if (event.key === "Escape") {
    event.preventDefault();
    location.assign($("#photo-back").href);
  } else if (event.key === "z" || event.key === "Z") {
    event.preventDefault();
    zoomToggle();
  }
});

await ready;
showNeighbours();
if (processing(await load())) poll(load, { interval: 1500, until: (loaded) => !processing(loaded) });
