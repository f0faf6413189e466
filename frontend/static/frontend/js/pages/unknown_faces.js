// Unknown faces: every unassigned face; select several and give them one name (an existing or a new person).

import { api } from "../api.js";
import { $, assignFaces, h, loadPeople, pager, personPicker, plural, showError, toast } from "../ui.js";

const PAGE_SIZE = 60;
const grid = $("#face-grid");
const errorBox = $("#faces-error");
const selectAll = $("#select-all");
const assignButton = $("#bulk-assign");
let picker = null;
let total = 0;

function selected() {
  return [...grid.querySelectorAll("input[type=checkbox]:checked")].map((box) => Number(box.value));
}

function updateSelection() {
  const ids = selected();
  const boxes = grid.querySelectorAll("input[type=checkbox]");
  $("#selected-count").textContent = `${ids.length} selected`;
  selectAll.checked = boxes.length > 0 && ids.length === boxes.length;
  selectAll.indeterminate = ids.length > 0 && ids.length < boxes.length;
  assignButton.disabled = !ids.length || !picker?.value();
  assignButton.textContent = ids.length ? `Assign ${plural(ids.length, "face")}` : "Assign selected";
}

function faceCard(face) {
  const id = `face-${face.id}`;
  return h(
    "li",
    { class: "card face-card selectable", dataset: { faceId: face.id } },
    h("input", { type: "checkbox", id, value: face.id, "aria-label": `Select face ${face.id}` }),
    h(
      "label",
      { for: id },
      h("img", { src: face.crop_url, alt: `Unknown face ${face.id}`, loading: "lazy", width: 140, height: 140 }),
    ),
    h(
      "div",
      { class: "face-card-body" },
      h(
        "div",
        { class: "row row-between" },
        h("a", { href: `/photos/${face.photo}/?face=${face.id}`, text: "Photo" }),
        h("button", {
          type: "button",
          class: "btn btn-small btn-quiet",
          text: "Similar",
          title: "Select the faces like this one",
          "aria-label": `Select the faces similar to face ${face.id}`,
          on: { click: (event) => selectSimilar(face.id, event.currentTarget) },
        }),
      ),
    ),
  );
}

/** Tick this face and every shown face the search API puts within the encoder's same-person threshold. */
async function selectSimilar(faceId, button) {
  button.disabled = true;
  try {
    const result = await api("/api/search/", { method: "POST", json: { face_id: faceId, limit: 100 } });
    let ticked = 0;
    for (const id of [faceId, ...result.matches.map((match) => match.face.id)]) {
      const box = grid.querySelector(`input[value="${id}"]`);
      if (box && !box.checked) {
        box.checked = true;
        ticked += 1;
      }
    }
    updateSelection();
    toast(`${plural(ticked, "face")} selected as this person. Check them, then assign.`);
  } catch (error) {
    showError(errorBox, error);
  } finally {
    button.disabled = false;
  }
}

function setCount(count) {
  total = count;
  $("#face-count").textContent = `(${count})`;
  $("#faces-empty").hidden = count > 0;
}

const faces = pager($("#load-more"), errorBox, (page) => {
  grid.append(...page.results.map(faceCard));
  setCount(page.count);
  updateSelection();
});

function reload() {
  faces.start(`/api/faces/?unassigned=true&page_size=${PAGE_SIZE}`, { before: () => grid.replaceChildren() });
}

async function loadPicker() {
  picker = personPicker(await loadPeople());
  $("#bulk-picker").replaceChildren(picker.element);
  updateSelection();
}

grid.addEventListener("change", updateSelection);
selectAll.addEventListener("change", () => {
  grid.querySelectorAll("input[type=checkbox]").forEach((box) => {
    box.checked = selectAll.checked;
  });
  updateSelection();
});
$("#bulk-form").addEventListener("pickchange", updateSelection);
$("#bulk-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const ids = selected();
  const pick = picker.value();
  if (!ids.length || !pick) return;
  assignButton.disabled = true;
  try {
    const person = await assignFaces(ids, pick);
    for (const id of ids) grid.querySelector(`[data-face-id="${id}"]`)?.remove();
    setCount(total - ids.length);
    toast(`${plural(ids.length, "face")} assigned to ${person.name}.`);
    showError(errorBox, null);
    await loadPicker();
    if (!grid.children.length && total > 0) reload();
  } catch (error) {
    showError(errorBox, error);
  } finally {
    updateSelection();
  }
});

await loadPicker().catch((error) => showError(errorBox, error));
reload();
