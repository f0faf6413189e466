// One photo: the image with its faces boxed and named; name a face (existing or new person), unassign, draw a face
// the detector missed, delete.

import { api, assignFaces, loadPeople, poll } from "../api.js";
import { $, h } from "../dom.js";
import { dragBox, drawFaceBoxes, fitStage } from "../face_boxes.js";
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

function render() {
  const name = photo.original_name || `Photo ${photo.id}`;
  document.title = `${name} · facesearch`;
  $("#crumb").textContent = name;
  $("#photo-title").textContent = name;
  if (image.getAttribute("src") !== photo.url) image.src = photo.url;
  if (photo.width && photo.height) fitStage($("#stage"), photo.width, photo.height, { maxHeight: "78vh" });
  image.alt = name;
  $("#photo-detail").hidden = false;

  const facts = [
    ["Status", statusText()],
    ["Size", `${photo.width ?? "?"} × ${photo.height ?? "?"} px, ${formatBytes(photo.size)}`],
    ["Taken", photo.taken_at ? formatDate(photo.taken_at) : "unknown"],
    ["Added", `${formatDate(photo.created_at)}${photo.uploaded_by ? ` by ${photo.uploaded_by}` : ""}`],
    ["Library", libraryText()],
  ];
  $("#facts").replaceChildren(...facts.flatMap(([term, value]) => [h("dt", { text: term }), h("dd", {}, value)]));

  const faces = photo.faces;
  $("#face-count").textContent = faces.length ? `(${faces.length})` : "";
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
      active: face.id === active,
      label: face.person?.name ?? "?",
      title: `${face.person ? `Face of ${face.person.name}` : "Unknown face: name it in the list"}${
        face.source === "drawn" ? " (drawn by hand)" : ""
      }`,
    })),
    {
      size: { width: photo.width, height: photo.height },
      maxHeight: "78vh",
      onSelect: (i) => select(faces[i].id, true),
    },
  );
  $("#face-list").replaceChildren(...faces.map(faceRow));
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
    box.classList.toggle("is-active", photo.faces[i].id === faceId);
  });
  document.querySelectorAll(".face-row").forEach((row) => {
    row.classList.toggle("is-active", Number(row.dataset.faceId) === faceId);
  });
  const row = document.querySelector(`.face-row[data-face-id="${faceId}"]`);
  if (row && focus) {
    row.scrollIntoView({ block: "nearest", behavior: "smooth" });
    row.querySelector("select")?.focus({ preventScroll: true });
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

function faceRow(face, i) {
  const manage = canManage();
  const picker = personPicker(people, { label: face.person ? "Change to" : "This is" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-small", text: "Save" });
  const form = h("form", { class: "inline-form" }, picker.element, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const pick = picker.value();
    if (!pick) {
      toast("Choose a person, or New person… and a name.", "error");
      picker.select.focus();
      return;
    }
    submit.disabled = true;
    try {
      const person = await assignFaces([face.id], pick, photo.library);
      if (pick.newName) people = await loadPeople(photo.library);
      toast(`Face ${i + 1} is now ${person.name}.`);
      await refresh(face.id);
    } catch (error) {
      showError(errorBox, error);
    } finally {
      submit.disabled = false;
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
  );
  const nameNode = face.person
    ? h("a", { class: "face-row-name", href: `/people/${face.person.id}/`, text: face.person.name })
    : h("span", { class: "face-row-name is-unknown", text: "Unknown" });
  const row = h(
    "li",
    {
      class: `face-row${face.id === active ? " is-active" : ""}`,
      dataset: { faceId: face.id },
      "aria-label": `Face ${i + 1}`,
    },
    h("img", { class: "avatar", src: face.crop_url, alt: `Face ${i + 1}`, width: 56, height: 56 }),
    h(
      "div",
      {},
      h("span", { class: "muted small", text: `Face ${i + 1} · ` }),
      nameNode,
      face.source === "drawn" ? h("span", { class: "muted small", text: " · drawn by hand" }) : null,
      face.assignment === "automatic"
        ? h("span", {
            class: "muted small",
            text: ` · matched automatically (${similarity(face.assignment_distance)}% similar)`,
          })
        : null,
    ),
    actions,
    manage ? form : null,
  );
  row.addEventListener("focusin", () => select(face.id));
  return row;
}

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

await ready;
if (processing(await load())) poll(load, { interval: 1500, until: (loaded) => !processing(loaded) });
