// One person: all their faces; rename, merge another person in, remove a wrong face, choose the cover, delete.

import { api, loadPeople } from "../api.js";
import { $, h } from "../dom.js";
import { plural } from "../format.js";
import { confirmDialog, showError, toast } from "../messages.js";
import { pager } from "../pager.js";

const personId = Number(document.querySelector("main").dataset.personId);
const errorBox = $("#person-error");
const grid = $("#face-grid");
const ASSIGNMENT = { manual: "named by hand", enrolled: "named by hand", automatic: "matched automatically" };
let person = null;

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
  const others = (await loadPeople()).filter((p) => p.id !== personId);
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
        { class: "row" },
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
    toast(`The face is no longer ${person.name}'s; it is on Unknown faces.`);
    await loadPerson();
  } catch (error) {
    showError(errorBox, error);
  }
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

if (await loadPerson()) {
  reloadFaces();
  loadMergeChoices().catch((error) => showError(errorBox, error));
}
