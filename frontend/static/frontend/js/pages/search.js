// Search by photo: drop, paste or pick an image; POST /api/search/; boxes on the query faces; Strict / Normal / Loose,
// the encoder's calibrated operating points, filter the matches live. The matches are grouped by person, unnamed ones
// likely to be the query's person marked, and named from here; on a phone the page scrolls to them.

import { api, assignFaces, loadPeople } from "../api.js";
import { $, dropTarget, h } from "../dom.js";
import { drawFaceBoxes, fitStage } from "../face_boxes.js";
import { reviewButtons, reviewStatus } from "../face_review.js";
import { plural } from "../format.js";
import { libraries, ready } from "../library.js";
import { showError, toast } from "../messages.js";
import { personPicker } from "../person_picker.js";

const LIMIT = 60;
const MAX_DISTANCE = 1.4; // ask for weak matches too: Strict / Normal / Loose hide them client-side
const CLOSENESS = [
  ["strict", "Very likely the same person"],
  ["normal", "Likely the same person"],
  ["loose", "Possibly the same person"],
];

const state = { file: null, faceId: null, faceIndex: 0, result: null, objectUrl: null, strictness: "normal" };

const fileInput = $("#query-file");
const dropzone = $("#dropzone");
const queryBox = $("#query");
const queryImage = $("#query-image");
const hint = $("#query-hint");
const status = $("#search-status");
const errorBox = $("#search-error");
const choices = [...document.querySelectorAll('input[name="strictness"]')];
const results = $("#results");
const summary = $("#results-summary");
const empty = $("#results-empty");
const panel = $(".results-panel");

/** Whether this viewport is a phone's (one column: the results start below the query photo). */
const narrow = window.matchMedia("(max-width: 900px)");
/** A touch screen: no mouse to hover or click with, no keyboard to paste with. */
const touch = window.matchMedia("(pointer: coarse)");

/** How tall the query photo may be: on a phone it leaves room for the first results. */
const stageHeight = () => (narrow.matches ? "30vh" : "50vh");

queryImage.addEventListener("error", () => {
  // The browser cannot show it (e.g. HEIC): the search still runs on the server, which reads it.
  queryImage.alt = "No preview of this photo in this browser; the search uses it all the same.";
});

queryImage.addEventListener("load", () => {
  fitStage(queryImage.parentElement, queryImage.naturalWidth, queryImage.naturalHeight, { maxHeight: stageHeight() });
});

function setQueryImage(src) {
  queryImage.src = src;
  dropzone.hidden = true;
  queryBox.hidden = false;
}

/** Photos the server reads; HEIC/HEIF often have no `image/` type in the browser, and no preview either. */
const PHOTO_NAME = /\.(jpe?g|png|webp|gif|bmp|tiff?|heic|heif)$/i;

function start(file) {
  if (!file) return;
  if (!file.type.startsWith("image/") && !PHOTO_NAME.test(file.name || "")) {
    showError(errorBox, new Error(`${file.name || "This file"} is not a photo: choose a JPEG, PNG, WebP or HEIC image.`));
    return;
  }
  if (state.objectUrl) URL.revokeObjectURL(state.objectUrl);
  state.file = file;
  state.faceId = null;
  state.faceIndex = 0;
  state.objectUrl = URL.createObjectURL(file);
  setQueryImage(state.objectUrl);
  queryImage.alt = `Your query photo, ${file.name || "pasted image"}`;
  search();
}

function reset() {
  state.file = null;
  state.result = null;
  queryBox.hidden = true;
  dropzone.hidden = false;
  fileInput.value = "";
  showError(errorBox, null);
  clearResults("Matches appear here, nearest first.");
  history.replaceState(null, "", location.pathname);
  $("#query-pick").focus();
}

/** No matches on show: the list, its summary and the slider give way to `message`. */
function clearResults(message) {
  results.replaceChildren();
  summary.textContent = "";
  $("#threshold-box").hidden = true;
  empty.hidden = false;
  empty.querySelector("p").textContent = message;
}

/**
 * On a phone the results are below the query photo: bring them up once they are in (the top bar slides away). After
 * the photo is decoded and sized, so that the page does not move under the scroll.
 */
async function showResults() {
  if (!narrow.matches) return;
  await queryImage.decode().catch(() => {}); // no preview (HEIC): nothing to wait for
  await new Promise((resolve) => requestAnimationFrame(resolve));
  const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  panel.scrollIntoView({ block: "start", behavior: smooth ? "smooth" : "auto" });
}

const NO_FACE =
  "No face found in this photo. Try one where the face is larger, sharp and turned towards the camera, " +
  "or crop the photo around the face.";

async function search() {
  await ready; // the chosen library is part of the query
  const form = new FormData();
  if (state.faceId) form.append("face_id", state.faceId);
  else form.append("file", state.file, state.file.name || "pasted.png");
  form.append("limit", LIMIT);
  form.append("max_distance", MAX_DISTANCE);
  if (!state.faceId) form.append("face_index", state.faceIndex);
  if (libraries.current) form.append("library", libraries.current.id);
  status.hidden = false;
  showError(errorBox, null);
  results.setAttribute("aria-busy", "true");
  try {
    const result = await api("/api/search/", { method: "POST", form });
    await loadPickers(result.matches);
    state.result = result;
    render();
    showResults();
  } catch (error) {
    state.result = null;
    clearResults(error.status === 422 ? NO_FACE : "No results for this photo.");
    hint.textContent = "";
    queryImage.parentElement.querySelectorAll(".facebox").forEach((box) => box.remove());
    showError(errorBox, error);
  } finally {
    status.hidden = true;
    results.removeAttribute("aria-busy");
  }
}

/** The people of each library the pickers offer, loaded once per page (a name created here reloads them). */
const peopleCache = new Map();

/** Load the people of the libraries whose unnamed matches may be named here; the matches show even if it fails. */
async function loadPickers(matches) {
  const wanted = new Set(
    matches.filter((m) => !m.person && libraries.may("manage", m.face.library)).map((m) => m.face.library),
  );
  await Promise.all(
    [...wanted]
      .filter((library) => !peopleCache.has(library))
      .map(async (library) => peopleCache.set(library, await loadPeople(library).catch(() => []))),
  );
}

/**
 * The matches in groups a person reads: one per named person, then the unnamed faces that are likely the same person
 * as the query (closer than the calibrated 1:1 threshold, "normal"), then the weaker unnamed ones; each group in the
 * order of its nearest match. Unnamed faces are grouped per library, where they can only be named together.
 */
function groupMatches(matches, likely) {
  const several = new Set(matches.map((m) => m.face.library)).size > 1;
  const groups = new Map();
  matches.forEach((match, rank) => {
    const { person } = match;
    const near = match.distance < likely;
    const unnamed = `unnamed-${near ? "likely" : "weak"}-${several ? match.face.library : 0}`;
    const key = person ? `person-${person.id}` : unnamed;
    if (!groups.has(key)) {
      groups.set(key, { key, person, likely: near, library: match.face.library, several, items: [] });
    }
    groups.get(key).items.push({ match, rank });
  });
  return [...groups.values()].sort((a, b) => a.items[0].match.distance - b.items[0].match.distance);
}

function render() {
  const { query_faces: faces, face_index: chosen, matches, operating_points: points } = state.result;
  if (!state.faceId) {
    const several = faces.length > 1;
    drawFaceBoxes(
      queryImage,
      faces.map((face) => ({
        box: face.box,
        active: several ? face.index === chosen : undefined,
        label: several ? `Face ${face.index + 1}` : null,
        title: several
          ? `Face ${face.index + 1}${face.index === chosen ? " (searched)" : ": search for this face"}`
          : "The face searched for",
      })),
      {
        maxHeight: stageHeight(),
        onSelect: several
          ? (i) => {
              if (faces[i].index === state.faceIndex) return;
              state.faceIndex = faces[i].index;
              search();
            }
          : null,
      },
    );
    const pick = touch.matches ? "tap another box" : "click another box (or Tab to it and press Enter)";
    hint.textContent = several
      ? `${faces.length} faces found. Searching for face ${chosen + 1}; ${pick} to search for that face.`
      : "One face found.";
  }
  $("#threshold-box").hidden = false;
  const likely = points.normal.max_distance;
  const groups = groupMatches(matches, likely);
  const nearest = groups.find((group) => group.person && group.likely); // whom the query most likely is
  results.replaceChildren(...groups.map((group) => groupNode(group, nearest)));
  filter();
}

function groupNode(group, nearest) {
  const { person, likely, library, several } = group;
  const headId = `group-${group.key}`;
  const where = several ? ` in ${libraries.name(library)}` : "";
  const title = person
    ? h("a", { href: `/people/${person.id}/`, text: person.name })
    : h("span", { text: likely ? `Not named yet${where}` : `Not named yet, weaker matches${where}` });
  const head = h(
    "div",
    { class: "result-group-head" },
    h("h3", { id: headId }, title),
    h("span", { class: "muted small result-group-count" }),
    likely
      ? h("span", { class: "badge badge-ok likely", text: "Likely the same person" })
      : person
        ? null
        : h("span", { class: "muted small", text: "Possibly other people" }),
  );
  const unnamedLikely = !person && likely && libraries.may("manage", library);
  const list = h("ol", { class: "grid results-grid", "aria-labelledby": headId }, group.items.map(resultNode));
  return h(
    "section",
    { class: `result-group${likely ? " is-likely" : ""}`, dataset: { group: group.key }, "aria-labelledby": headId },
    head,
    unnamedLikely ? nameGroupForm(group, list, nearest?.library === library ? nearest.person : null) : null,
    list,
  );
}

/** "Name them": the unnamed faces likely to be the query's person, named at once (those Strict/Normal/Loose shows). */
function nameGroupForm(group, list, guess) {
  const picker = personPicker(peopleCache.get(group.library) ?? [], {
    label: "Name them",
    placeholder: "Who is this? Type a name…",
  });
  if (guess) picker.set(guess);
  const submit = h("button", { type: "submit", class: "btn btn-primary", text: "Name" });
  const form = h(
    "form",
    { class: "row name-group", "aria-label": "Name the faces not named yet" },
    picker.element,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const pick = picker.value();
    const shown = [...list.querySelectorAll(".result:not([hidden])")].map((item) => Number(item.dataset.faceId));
    if (!pick || !shown.length) {
      picker.showError(pick ? "No face of this group is shown: choose Loose." : "Type a name, or choose a person.");
      picker.focus();
      return;
    }
    submit.disabled = true;
    try {
      await named(shown, pick, group.library);
    } catch (error) {
      submit.disabled = false;
      picker.showError(error);
    }
  });
  return form;
}

/** Name faces of `library` as the picked person, then regroup: they move under that person. */
async function named(faceIds, pick, library) {
  const person = await assignFaces(faceIds, pick, library);
  if (pick.newName) peopleCache.set(library, await loadPeople(library));
  const ids = new Set(faceIds);
  const ref = { id: person.id, name: person.name };
  state.result = {
    ...state.result,
    matches: state.result.matches.map((m) =>
      ids.has(m.face.id) ? { ...m, person: ref, face: { ...m.face, person: ref, assignment: "manual" } } : m,
    ),
  };
  toast(`${plural(faceIds.length, "face")} named ${person.name}.`);
  render();
}

/** One match's "Name" button: it opens a picker in place; Enter (or a click on a person) names the face. */
function nameButton(match, rank) {
  const button = h("button", {
    type: "button",
    class: "btn btn-small",
    text: "Name",
    "aria-label": `Name match ${rank + 1}`,
  });
  button.addEventListener("click", () => {
    const picker = personPicker(peopleCache.get(match.face.library) ?? [], {
      label: `Name match ${rank + 1}`,
      onCommit: async (pick) => {
        picker.input.disabled = true;
        try {
          await named([match.face.id], pick, match.face.library);
        } catch (error) {
          picker.input.disabled = false;
          picker.showError(error);
          picker.focus();
        }
      },
    });
    picker.element.classList.add("match-picker");
    button.closest(".result").append(picker.element);
    button.remove();
    picker.focus();
  });
  return button;
}

function resultNode({ match, rank }) {
  const name = match.person?.name;
  const points = state.result.operating_points;
  const [, closeness] = CLOSENESS.find(([key]) => match.distance < points[key].max_distance) ?? [null, "Unlikely"];
  const manage = libraries.may("manage", match.face.library);
  return h(
    "li",
    { class: "result", dataset: { distance: match.distance, faceId: match.face.id } },
    h("span", { class: "rank", text: `#${rank + 1}`, "aria-hidden": "true" }),
    h(
      "a",
      { class: "card match", href: `/photos/${match.photo.id}/?face=${match.face.id}` },
      h(
        "div",
        { class: "match-images" },
        h("img", { src: match.face.crop_url, alt: name ? `Face of ${name}` : "Face", loading: "lazy", width: 160, height: 160 }),
        h("img", { src: match.photo.thumb_url, alt: "", loading: "lazy", width: 160, height: 160 }),
      ),
      h(
        "div",
        { class: "match-body" },
        h("span", { class: `match-name${name ? "" : " is-unknown"}`, text: name ?? "Not named yet" }),
        h("span", { class: "match-file", text: match.photo.original_name || `Photo ${match.photo.id}` }),
        libraries.current || libraries.list.length < 2
          ? null
          : h("span", { class: "match-library", text: libraries.name(match.face.library) }),
        h(
          "span",
          { class: "similarity" },
          h("span", { class: "closeness", text: closeness }),
          h("span", { class: "muted", text: match.distance.toFixed(2), title: "distance (0: the same face)" }),
        ),
        reviewStatus(match.face) ? h("span", { class: "badge badge-warn", text: reviewStatus(match.face) }) : null,
      ),
    ),
    manage
      ? h(
          "div",
          { class: "row face-review match-review" },
          match.person || match.face.hidden ? null : nameButton(match, rank),
          reviewButtons(match.face, {
            name: `match ${rank + 1}`,
            onDone: (face) => reviewed(match, face),
            onError: (error) => showError(errorBox, error),
          }),
        )
      : null,
  );
}

/** After a verdict on a match: a face now hidden (not a face) leaves the results; an ignored one stays, marked. */
function reviewed(match, face) {
  const matches = state.result.matches.map((m) => (m === match ? { ...m, face } : m));
  state.result = { ...state.result, matches: matches.filter((m) => !m.face.hidden) };
  render();
}

/** One in how many pairs of different people is this close, in words. */
function oneIn(rate) {
  return `about 1 in ${Math.round(1 / rate).toLocaleString("en")}`;
}

function filter() {
  if (!state.result) return;
  const point = state.result.operating_points[state.strictness];
  const limit = point.max_distance;
  $("#threshold-details").textContent =
    `${choices.find((c) => c.checked).parentElement.textContent.trim()} shows faces closer than ${limit.toFixed(2)} ` +
    `(Euclidean distance between the faces' embeddings; 0 is the same face, 2 the farthest): ` +
    `${oneIn(point.false_accept_rate)} pairs of different people are that close (measured on LFW).`;
  let shown = 0;
  for (const group of results.children) {
    let inGroup = 0;
    for (const item of group.querySelectorAll(".result")) {
      const visible = Number(item.dataset.distance) <= limit + 1e-9;
      item.hidden = !visible;
      if (visible) inGroup += 1;
    }
    group.hidden = inGroup === 0;
    group.querySelector(".result-group-count").textContent = plural(inGroup, "match", "matches");
    shown += inGroup;
  }
  const total = state.result.matches.length;
  summary.textContent = total
    ? plural(shown, "match", "matches") + (shown < total ? `; ${total - shown} weaker hidden.` : ".")
    : "";
  empty.hidden = shown > 0;
  empty.querySelector("p").textContent = total
    ? "No match is this sure. Choose Loose to see weaker matches."
    : "No stored face resembles this one. Upload more photos of them on the Photos page.";
}

for (const choice of choices) {
  choice.addEventListener("change", () => {
    state.strictness = choice.value;
    filter();
  });
}

$("#query-pick").addEventListener("click", () => fileInput.click());
fileInput.addEventListener("change", () => start(fileInput.files[0]));
$("#query-again").addEventListener("click", reset);
dropTarget(dropzone, (files) => start(files[0]));
dropTarget(queryBox, (files) => start(files[0]));
document.addEventListener("paste", (event) => {
  if (event.target.closest?.("input, textarea")) return;
  const file = [...(event.clipboardData?.files ?? [])].find((f) => f.type.startsWith("image/"));
  if (file) {
    event.preventDefault();
    start(file);
  }
});

ready.then(async () => {
  const current = libraries.current;
  $("#search-scope").textContent = current
    ? `Searching ${current.name} only (chosen in the bar).`
    : `Searching every library you may read (${plural(libraries.list.length, "library", "libraries")}).`;
  // An empty library has nothing to find: say so before anyone searches, and where photos are added.
  const photos = await api(libraries.url("/api/photos/?page_size=1")).catch(() => null);
  $("#library-empty").hidden = photos?.count !== 0;
});

// /?face=ID searches for a stored face (the "Find similar faces" link on a photo).
const faceParam = new URLSearchParams(location.search).get("face");
if (faceParam && /^\d+$/.test(faceParam)) {
  state.faceId = Number(faceParam);
  setQueryImage(`/api/faces/${state.faceId}/crop`);
  queryImage.alt = "The stored face searched for";
  hint.textContent = "A face from your library; the matches are its other appearances.";
  search();
}
