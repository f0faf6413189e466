// One person: all their faces; rename, merge another person in, remove a wrong face (it is then "not them" for good,
// until undone), choose the cover, mark them never-match or hidden, delete or erase (with the receipt).

import { api, loadPeople } from "../api.js";
import { $, h } from "../dom.js";
import { showReceipt } from "../erasure.js";
import { plural } from "../format.js";
import { libraries, ready } from "../library.js";
import { confirmDialog, showError, toast } from "../messages.js";
import { pager } from "../pager.js";

const personId = Number(document.querySelector("main").dataset.personId);
const errorBox = $("#person-error");
const grid = $("#face-grid");
const ASSIGNMENT = { manual: "named by hand", enrolled: "named by hand", automatic: "matched automatically" };
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
  const card = h(
    "li",
    { class: `card face-card${face.id === person.cover?.face_id ? " is-cover" : ""}`, dataset: { faceId: face.id } },
    h(
      "a",
      { href: `/photos/${face.photo}/?face=${face.id}`, "aria-label": `Photo of this face (face ${face.id})` },
      h("img", { src: face.crop_url, alt: `${person.name}, face ${face.id}`, loading: "lazy", width: 140, height: 140 }),
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
          "aria-label": `Remove face ${face.id} from ${person.name}`,
          on: { click: () => removeFace(face, card) },
        }),
        h("button", {
          type: "button",
          class: "btn btn-small btn-quiet",
          text: "Cover",
          title: "Use as cover face",
          "aria-label": `Use face ${face.id} as the cover`,
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
    reloadRejections();
  } catch (error) {
    showError(errorBox, error);
  }
}

/** A face recorded as not this person, with Undo (which lets it be suggested or named as them again). */
function rejectionCard(face) {
  const card = h(
    "li",
    { class: "card face-card", dataset: { faceId: face.id } },
    h(
      "a",
      { href: `/photos/${face.photo}/?face=${face.id}`, "aria-label": `Photo of this face (face ${face.id})` },
      h("img", {
        src: face.crop_url,
        alt: `Not ${person.name}, face ${face.id}`,
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
        "aria-label": `Undo: face ${face.id} may be ${person.name}`,
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
    toast(`Face ${face.id} may be suggested for ${person.name} again.`);
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

async function makeCover(face) {
  try {
    person = await api(`/api/people/${personId}/`, { method: "PATCH", json: { cover_face_id: face.id } });
    renderHead();
    toast("Cover face changed.");
  } catch (error) {
    showError(errorBox, error);
  }
}

const faces = pager($("#load-more"), errorBox, (page) => grid.append(...page.results.map(faceCard)));

function reloadFaces() {
  faces.start(`/api/people/${personId}/faces/`, { before: () => grid.replaceChildren() });
}

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
    person = await api(`/api/people/${personId}/merge/`, { method: "POST", json: { other_id: otherId } });
    renderHead();
    reloadFaces();
    reloadRejections();
    await loadMergeChoices();
    showError(errorBox, null);
    toast(`Merged. ${person.name} now has ${plural(person.face_count, "face")}.`);
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
  reloadFaces();
  reloadRejections();
  if (canManage()) loadMergeChoices().catch((error) => showError(errorBox, error));
}
