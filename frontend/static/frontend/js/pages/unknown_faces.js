// Unknown faces: suggested people (groups of faces that look like one person, named after an enrolled look-alike)
// and every unassigned face; select several and give them one name (an existing or a new person), or say a suggested
// name is wrong ("Not X": never suggested for those faces again).

import { api, assignFaces, loadPeople } from "../api.js";
import { $, h } from "../dom.js";
import { faceChecklist } from "../face_checklist.js";
import { reviewButtons, reviewStatus } from "../face_review.js";
import { plural, similarity } from "../format.js";
import { libraries, ready } from "../library.js";
import { showError, toast } from "../messages.js";
import { pager } from "../pager.js";
import { personPicker } from "../person_picker.js";

const PAGE_SIZE = 60;
const SUGGESTED_GROUPS = 12;
const grid = $("#face-grid");
const errorBox = $("#faces-error");
const selectAll = $("#select-all");
const assignButton = $("#bulk-assign");
let picker = null;
let people = [];
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

/** A face's card; `position` is its place in the grid (1-based), which screen readers hear instead of an id. */
function faceCard(face, position) {
  const id = `face-${face.id}`;
  const label = `unknown face ${position}`;
  const manage = libraries.error || libraries.may("manage", face.library); // a viewer's faces cannot be named
  const status = reviewStatus(face);
  const card = h(
    "li",
    {
      class: `card face-card${manage ? " selectable" : ""}${status ? " is-set-aside" : ""}`,
      dataset: { faceId: face.id, library: face.library, position },
    },
    manage ? h("input", { type: "checkbox", id, value: face.id, "aria-label": `Select ${label}` }) : null,
    h(
      manage ? "label" : "span",
      { for: manage ? id : null },
      h("img", { src: face.crop_url, alt: `Unknown face ${position}`, loading: "lazy", width: 140, height: 140 }),
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
          "aria-label": `Select the faces similar to ${label}`,
          on: { click: (event) => selectSimilar(face, event.currentTarget) },
        }),
      ),
      status ? h("span", { class: "badge badge-warn face-status", text: status }) : null,
      manage
        ? h(
            "div",
            { class: "row face-review" },
            reviewButtons(face, {
              name: label,
              onDone: (updated) => reviewed(card, updated),
              onError: (error) => showError(errorBox, error),
            }),
          )
        : null,
    ),
  );
  return card;
}

const showHidden = $("#show-hidden");

/** After a verdict: the card shows the face as it is now, or leaves when the face is no longer listed. */
function reviewed(card, face) {
  const waiting = !face.person && !face.hidden && face.review !== "ignored";
  if (waiting || showHidden.checked) card.replaceWith(faceCard(face, Number(card.dataset.position)));
  else {
    card.remove();
    setCount(total - 1);
  }
  updateSelection();
  loadSuggestions();
}

/** Tick this face and every shown face of its library the search API puts within the same-person threshold. */
async function selectSimilar(face, button) {
  button.disabled = true;
  try {
    const json = { face_id: face.id, limit: 100, library: face.library };
    const result = await api("/api/search/", { method: "POST", json });
    let ticked = 0;
    for (const id of [face.id, ...result.matches.map((match) => match.face.id)]) {
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
  const shown = grid.children.length;
  grid.append(...page.results.map((face, i) => faceCard(face, shown + i + 1)));
  setCount(page.count);
  updateSelection();
});

function reload() {
  const waiting = showHidden.checked ? "" : "&awaiting_name=true"; // hidden and ignored faces too, when asked
  faces.start(libraries.url(`/api/faces/?unassigned=true${waiting}&page_size=${PAGE_SIZE}`), {
    before: () => grid.replaceChildren(),
  });
}

async function loadPicker() {
  people = await loadPeople(libraries.current?.id);
  picker = personPicker(people);
  $("#bulk-picker").replaceChildren(picker.element);
  updateSelection();
}

/** One suggested group: its faces (all ticked; untick one that does not belong) and a picker set to the look-alike. */
function suggestionCard(group, number) {
  const library = group.faces[0]?.library;
  const groupPicker = personPicker(people, { label: "Name as" });
  if (group.person) groupPicker.set(group.person);
  const { boxes, list: faces } = faceChecklist(group.faces, {
    number, idPrefix: "suggested-", listLabel: `Faces of group ${number}`, checked: true,
  });
  const submit = h("button", { type: "submit", class: "btn btn-primary" });
  const card = h("li", {
    class: `card suggestion${group.review ? " suggestion-review" : ""}`,
    dataset: { faces: group.faces.map((face) => face.id).join(" "), review: group.review ? "true" : "false" },
    title: group.review ? "Close to the naming threshold: not named automatically, check before naming" : null,
  });
  const ticked = () => boxes.filter((box) => box.checked).map((box) => Number(box.value));
  const update = () => {
    const count = ticked().length;
    submit.textContent = `Assign ${plural(count, "face")}`;
    submit.disabled = !count || !groupPicker.value();
  };
  const form = h(
    "form",
    { class: "row suggestion-form", "aria-label": `Name group ${number}` },
    groupPicker.element,
    submit,
    group.person
      ? h("button", {
          type: "button",
          class: "btn",
          text: `Not ${group.person.name}`,
          title: `These faces are not ${group.person.name}: never suggest them as ${group.person.name} again`,
          on: { click: () => rejectName(group, ticked(), card) },
        })
      : null,
    h("button", {
      type: "button",
      class: "btn btn-quiet",
      text: "Ignore",
      title: "Nobody to name (e.g. strangers): leave the ticked faces out of suggestions and Unknown faces (undo: Show hidden)",
      on: { click: () => ignoreFaces(ticked(), card) },
    }),
    h("button", { type: "button", class: "btn btn-quiet", text: "Skip", on: { click: () => card.remove() } }),
  );
  form.addEventListener("change", update);
  form.addEventListener("pickchange", update);
  faces.addEventListener("change", update);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = ticked();
    const pick = groupPicker.value();
    if (!ids.length || !pick) return;
    submit.disabled = true;
    try {
      await nameFaces(ids, pick, library, { suggested: true });
      reload();
    } catch (error) {
      groupPicker.showError(error); // beside the field it is about
      update();
    }
  });
  const looksLike = group.person
    ? h(
        "span",
        {},
        group.review ? h("span", { class: "badge badge-warn review-flag", text: "Check" }) : null,
        group.review ? " Might be " : "Looks like ",
        h("a", { href: `/people/${group.person.id}/`, text: group.person.name }),
        ` (${similarity(group.distance)}% similar)`,
      )
    : h("span", { class: "muted", text: "One person, not named yet" });
  const count = h("strong", { text: plural(group.faces.length, "face") });
  form.hidden = !libraries.error && !libraries.may("manage", library);
  card.append(h("div", { class: "row row-between" }, count, looksLike), faces, form);
  update();
  return card;
}

/** "Ignore" on a group: its ticked faces are real faces nobody wants to name; they leave the suggestions and the list. */
async function ignoreFaces(ids, card) {
  if (!ids.length) return;
  card.querySelectorAll("button").forEach((button) => {
    button.disabled = true;
  });
  try {
    for (const id of ids) await api(`/api/faces/${id}/review/`, { method: "POST", json: { review: "ignored" } });
    toast(`${plural(ids.length, "face")} ignored: shown again with "Show hidden and ignored faces", where Undo is.`);
    reload();
    await loadSuggestions();
  } catch (error) {
    showError($("#suggestions-error"), error);
  }
}

/** "Not X": the ticked faces of a group are recorded as not its suggested person, and the suggestions recomputed. */
async function rejectName(group, ids, card) {
  if (!ids.length) return;
  card.querySelectorAll("button").forEach((button) => {
    button.disabled = true;
  });
  try {
    await api(`/api/people/${group.person.id}/rejections/`, { method: "POST", json: { face_ids: ids } });
    toast(`${plural(ids.length, "face")} will not be suggested as ${group.person.name} again.`);
    await loadSuggestions();
  } catch (error) {
    showError($("#suggestions-error"), error);
    card.querySelectorAll("button").forEach((button) => {
      button.disabled = false;
    });
  }
}

async function loadSuggestions() {
  const section = $("#suggestions");
  try {
    const result = await api(libraries.url(`/api/people/suggestions/?limit=${SUGGESTED_GROUPS}`));
    const among =
      result.considered < result.unassigned
        ? `the ${result.considered} grouped so far of ${plural(result.unassigned, "unknown face")}`
        : plural(result.unassigned, "unknown face");
    const target = libraries.target;
    let where = "";
    if (libraries.current) where = ` in ${target.name}`;
    else if (target) where = ` in your personal library, ${target.name} (choose a library in the bar for another's)`;
    $("#suggestions-note").textContent =
      `Faces that look like one person, among ${among}${where}. ` +
      "Untick a face that does not belong, then name the group.";
    $("#suggestion-list").replaceChildren(...result.groups.map((group, i) => suggestionCard(group, i + 1)));
    section.hidden = !result.groups.length;
    showError($("#suggestions-error"), null);
  } catch (error) {
    section.hidden = false;
    showError($("#suggestions-error"), error);
  }
}

/** Give faces of `library` one name, then reload what that changes: the people (for the pickers), the suggestions. */
async function nameFaces(ids, pick, library, options = {}) {
  const person = await assignFaces(ids, pick, library, options);
  await loadPicker(); // before the toast: whoever names the next faces uses the new picker, not the one it replaces
  toast(`${plural(ids.length, "face")} assigned to ${person.name}.`);
  await loadSuggestions();
}

let anchor = null; // the last face ticked or unticked: Shift-click sets every face from it to the one clicked alike
grid.addEventListener("click", (event) => {
  const box = event.target.closest("input[type=checkbox]");
  if (!box) return;
  const boxes = [...grid.querySelectorAll("input[type=checkbox]")];
  if (event.shiftKey && anchor && boxes.includes(anchor)) {
    const [from, to] = [boxes.indexOf(anchor), boxes.indexOf(box)].sort((x, y) => x - y);
    for (const each of boxes.slice(from, to + 1)) each.checked = box.checked;
  }
  anchor = box;
});
grid.addEventListener("change", updateSelection);
showHidden.addEventListener("change", reload);
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
  const shown = new Set(ids.map((id) => grid.querySelector(`[data-face-id="${id}"]`)?.dataset.library));
  if (shown.size > 1) {
    showError(errorBox, new Error("These faces are in different libraries: name the faces of one library at a time."));
    return;
  }
  assignButton.disabled = true;
  try {
    await nameFaces(ids, pick, Number([...shown][0]) || undefined);
    for (const id of ids) grid.querySelector(`[data-face-id="${id}"]`)?.remove();
    setCount(total - ids.length);
    showError(errorBox, null);
    if (!grid.children.length && total > 0) reload();
  } catch (error) {
    picker.showError(error); // beside the field it is about
  } finally {
    updateSelection();
  }
});

await ready;
const current = libraries.current;
if (current && !libraries.may("manage", current.id)) {
  $("#bulk-form").hidden = true; // a viewer sees the faces, and names none
  $("#faces-note").hidden = false;
  $("#faces-note").textContent =
    `You are ${current.role} of ${current.name}: you can see its unknown faces, not name them.`;
}
await loadPicker().catch((error) => showError(errorBox, error));
reload();
loadSuggestions();
