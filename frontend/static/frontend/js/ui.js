// Small DOM helpers shared by the pages: element building, errors, toasts, dialogs, face boxes, person picking.

import { ApiError, api, fetchAll } from "./api.js";

/** Build an element: `h("a", {class: "x", href: "/", text: "Home", on: {click: fn}}, child, ...)`. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = value;
    else if (key === "on") for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key === "style") Object.assign(element.style, value);
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Show an error (ApiError or Error) in an alert element, with the API's per-field or per-file details; null hides it. */
export function showError(element, error) {
  element.replaceChildren();
  if (!error) {
    element.hidden = true;
    return;
  }
  element.append(h("strong", { text: error.message || "Something went wrong." }));
  const details = error instanceof ApiError ? error.details : [];
  if (details.length) element.append(h("ul", {}, details.map((line) => h("li", { text: line }))));
  element.hidden = false;
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast${kind === "error" ? " toast-error" : ""}`, text: message });
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

/** A modal confirmation (native <dialog>: focus is trapped and Escape cancels); resolves to true when confirmed. */
export function confirmDialog({ title, message, confirm = "OK", danger = false }) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title", text: title }),
      message ? h("p", { text: message }) : null,
      h(
        "form",
        { method: "dialog", class: "row" },
        h("button", { class: "btn", value: "cancel", text: "Cancel" }),
        h("button", { class: `btn ${danger ? "btn-danger" : "btn-primary"}`, value: "ok", text: confirm }),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Cosine similarity of two unit vectors at Euclidean distance d (the API's distance), as a 0 to 100 percentage. */
export function similarity(distance) {
  return Math.round(Math.max(0, Math.min(1, 1 - (distance * distance) / 2)) * 100);
}

export function formatBytes(bytes) {
  if (bytes == null) return "";
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit && value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatDate(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
export function timeAgo(iso) {
  if (!iso) return "";
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const steps = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [30, "day"],
    [12, "month"],
    [Infinity, "year"],
  ];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return "";
}

export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

/** The box in percent of the image, so it stays on the face at any displayed size. */
function boxStyle(box, width, height) {
  const [x1, y1, x2, y2] = box;
  const clamp = (v) => Math.max(0, Math.min(100, v));
  return {
    left: `${clamp((x1 / width) * 100)}%`,
    top: `${clamp((y1 / height) * 100)}%`,
    width: `${clamp(((x2 - x1) / width) * 100)}%`,
    height: `${clamp(((y2 - y1) / height) * 100)}%`,
  };
}

/**
 * Draw face boxes as buttons over `img` (inside its `.photo-stage`). `faces`: [{box, label, known, title}].
 * Coordinates are in image pixels: `size` gives the image's width and height, else its natural size is used.
 */
export function drawFaceBoxes(img, faces, { size, onSelect, maxHeight = "70vh", maxScale = 2 } = {}) {
  const stage = img.parentElement;
  const draw = () => {
    stage.querySelectorAll(".facebox").forEach((box) => box.remove());
    const width = size?.width || img.naturalWidth;
    const height = size?.height || img.naturalHeight;
    if (!width || !height) return;
    fitStage(stage, width, height, { maxHeight, maxScale });
    faces.forEach((face, i) => {
      const button = h(
        "button",
        {
          type: "button",
          class: `facebox${face.known ? " is-known" : ""}${face.active ? " is-active" : ""}`,
          style: boxStyle(face.box, width, height),
          "aria-label": face.title,
          title: face.title,
          "aria-pressed": onSelect && face.active !== undefined ? String(Boolean(face.active)) : null,
          dataset: { index: i },
          on: { click: () => onSelect?.(i) },
        },
        face.label ? h("span", { class: "facebox-label", text: face.label }) : null,
      );
      stage.append(button);
    });
  };
  if (img.complete && img.naturalWidth) draw();
  else img.addEventListener("load", draw, { once: true });
}

/** Size a `.photo-stage` to its image: as wide as fits, no taller than `maxHeight`, at most `maxScale` × its pixels. */
export function fitStage(stage, width, height, { maxHeight = "70vh", maxScale = 2 } = {}) {
  const ratio = width / height;
  stage.style.width = `min(100%, calc(${maxHeight} * ${ratio.toFixed(4)}), ${Math.round(width * maxScale)}px)`;
}

/** Accept files dropped on `zone` (highlighting it while dragging). */
export function dropTarget(zone, onFiles) {
  let depth = 0;
  zone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    depth += 1;
    zone.classList.add("is-over");
  });
  zone.addEventListener("dragover", (event) => event.preventDefault());
  zone.addEventListener("dragleave", () => {
    depth -= 1;
    if (depth <= 0) zone.classList.remove("is-over");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("is-over");
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length) onFiles(files);
  });
}

/**
 * A paginated API list: fetches pages from `start(url)` on, calling `render(page)` for each. The button loads the
 * next page, and so does scrolling near it (infinite scroll); the button stays for keyboard users. `start` again
 * (a new filter) drops any page still in flight; `before` runs just before the first page renders (clear the list).
 */
export function pager(button, errorBox, render) {
  let next = null;
  let busy = false;
  let generation = 0;
  let before = null;
  const more = async () => {
    if (!next || busy) return;
    const mine = generation;
    busy = true;
    button.disabled = true;
    try {
      const page = await api(next);
      if (mine !== generation) return;
      before?.();
      before = null;
      render(page);
      next = page.next;
      showError(errorBox, null);
    } catch (error) {
      if (mine === generation) showError(errorBox, error); // `next` stays: the button retries
    } finally {
      if (mine === generation) {
        busy = false;
        button.disabled = false;
        button.hidden = !next;
        if (next) {
          // Observing afresh reports whether the end of the list is still near: if so, the next page loads too.
          observer.unobserve(sentinel);
          observer.observe(sentinel);
        }
      }
    }
  };
  button.addEventListener("click", more);
  const sentinel = button.parentElement;
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) more();
  }, { rootMargin: "600px" });
  observer.observe(sentinel);
  return {
    start(url, options = {}) {
      generation += 1;
      busy = false;
      next = url;
      before = options.before ?? null;
      button.hidden = true;
      return more();
    },
  };
}

export async function loadPeople() {
  return fetchAll("/api/people/");
}

let pickerCount = 0;

/**
 * A labelled person chooser: an existing person, or "New person…" with a name field.
 * `value()` → `{personId}` or `{newName}` or null (nothing chosen yet).
 */
export function personPicker(people, { label = "Person", exclude = null } = {}) {
  pickerCount += 1;
  const id = `person-pick-${pickerCount}`;
  const select = h(
    "select",
    { id, name: "person" },
    h("option", { value: "", text: "Choose a person…" }),
    h("option", { value: "new", text: "New person…" }),
    people
      .filter((person) => person.id !== exclude)
      .map((person) => h("option", { value: String(person.id), text: person.name })),
  );
  const nameInput = h("input", {
    type: "text",
    id: `${id}-name`,
    name: "new_name",
    maxlength: "200",
    placeholder: "Name of the new person",
    hidden: true,
    "aria-label": "Name of the new person",
  });
  select.addEventListener("change", () => {
    nameInput.hidden = select.value !== "new";
    nameInput.required = select.value === "new";
    if (select.value === "new") nameInput.focus();
    element.dispatchEvent(new Event("pickchange", { bubbles: true }));
  });
  nameInput.addEventListener("input", () => element.dispatchEvent(new Event("pickchange", { bubbles: true })));
  const element = h("span", { class: "inline-form picker" }, h("label", { for: id, text: label }), select, nameInput);
  return {
    element,
    select,
    nameInput,
    value() {
      if (select.value === "new") {
        const name = nameInput.value.trim();
        return name ? { newName: name } : null;
      }
      return select.value ? { personId: Number(select.value) } : null;
    },
  };
}

/** Enrol faces as the picked person, creating the person first when the pick is a new name. Returns the person. */
export async function assignFaces(faceIds, pick) {
  let personId = pick.personId;
  if (pick.newName) {
    const person = await api("/api/people/", { method: "POST", json: { name: pick.newName } });
    personId = person.id;
  }
  const result = await api(`/api/people/${personId}/faces/`, { method: "POST", json: { face_ids: faceIds } });
  return result.person;
}
