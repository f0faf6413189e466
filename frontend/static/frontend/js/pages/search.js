// Search by photo: drop, paste or pick an image; POST /api/search/; boxes on the query faces; Strict / Normal / Loose,
// the encoder's calibrated operating points, filter the matches live.

import { api } from "../api.js";
import { $, dropTarget, h } from "../dom.js";
import { drawFaceBoxes, fitStage } from "../face_boxes.js";
import { plural } from "../format.js";
import { libraries, ready } from "../library.js";
import { showError } from "../messages.js";

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

queryImage.addEventListener("error", () => {
  // The browser cannot show it (e.g. HEIC): the search still runs on the server, which reads it.
  queryImage.alt = "No preview of this photo in this browser; the search uses it all the same.";
});

queryImage.addEventListener("load", () => {
  fitStage(queryImage.parentElement, queryImage.naturalWidth, queryImage.naturalHeight, { maxHeight: "50vh" });
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
    state.result = await api("/api/search/", { method: "POST", form });
    render();
  } catch (error) {
    state.result = null;
    clearResults("No results for this photo.");
    hint.textContent = "";
    queryImage.parentElement.querySelectorAll(".facebox").forEach((box) => box.remove());
    showError(errorBox, error);
  } finally {
    status.hidden = true;
    results.removeAttribute("aria-busy");
  }
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
        maxHeight: "50vh",
        onSelect: several
          ? (i) => {
              if (faces[i].index === state.faceIndex) return;
              state.faceIndex = faces[i].index;
              search();
            }
          : null,
      },
    );
    hint.textContent = several
      ? `${faces.length} faces found. Searching for face ${chosen + 1}; click another box (or Tab to it and press Enter) to search for that face.`
      : "One face found.";
  }
  $("#threshold-box").hidden = false;

  results.replaceChildren(
    ...matches.map((match, i) => {
      const name = match.person?.name;
      const [, closeness] = CLOSENESS.find(([key]) => match.distance < points[key].max_distance) ?? [null, "Unlikely"];
      return h(
        "li",
        { dataset: { distance: match.distance } },
        h("span", { class: "rank", text: `#${i + 1}`, "aria-hidden": "true" }),
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
            h("span", { class: `match-name${name ? "" : " is-unknown"}`, text: name ?? "Unknown person" }),
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
          ),
        ),
      );
    }),
  );
  filter();
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
  for (const item of results.children) {
    const visible = Number(item.dataset.distance) <= limit + 1e-9;
    item.hidden = !visible;
    if (visible) shown += 1;
  }
  const total = state.result.matches.length;
  summary.textContent = total
    ? plural(shown, "match", "matches") + (shown < total ? `; ${total - shown} weaker hidden.` : ".")
    : "";
  empty.hidden = shown > 0;
  empty.querySelector("p").textContent = total
    ? "No match is this sure. Choose Loose to see weaker matches."
    : "No stored face resembles this one. Upload more photos on the Photos page.";
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

ready.then(() => {
  const current = libraries.current;
  $("#search-scope").textContent = current
    ? `Searching ${current.name} only (chosen in the bar).`
    : `Searching every library you may read (${plural(libraries.list.length, "library", "libraries")}).`;
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
