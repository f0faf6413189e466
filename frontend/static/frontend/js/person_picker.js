// Choosing who a face is: one type-ahead field for every place a face is named. Typing offers the people whose names
// are like it (with their faces), nearest first; Enter takes the highlighted one, or creates the typed name when
// nobody is like it. A name someone already has is never offered for creation: that person is offered instead.

import { h } from "./dom.js";

let pickerCount = 0;

/** A name as compared: lower case, without accents, single spaces. */
const fold = (text) =>
  text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim();

/** Edits (insert, delete, replace) between two short strings: catches a typo ("Colin Powel"). */
function editDistance(a, b) {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= b.length; j += 1) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}

/** How like `query` a name is (lower is nearer), or null when it is not like it at all. */
function likeness(name, query) {
  const n = fold(name);
  if (!query) return 5;
  if (n === query) return 0;
  if (n.startsWith(query)) return 1;
  if (n.split(" ").some((word) => word.startsWith(query))) return 2;
  if (n.includes(query)) return 3;
  if (query.length >= 4 && editDistance(n, query) <= Math.max(1, Math.floor(query.length / 5))) return 4;
  return null;
}

/** Up to `limit` people like `text`, nearest first, then by name. */
export function peopleLike(people, text, limit = 8) {
  const query = fold(text);
  return people
    .map((person) => ({ person, rank: likeness(person.name, query) }))
    .filter((entry) => entry.rank !== null)
    .sort((a, b) => a.rank - b.rank || a.person.name.localeCompare(b.person.name))
    .slice(0, limit)
    .map((entry) => entry.person);
}

/**
 * A labelled type-ahead person field. `value()` → `{personId}`, `{newName}` or null (nothing chosen). A change fires
 * `pickchange` on `element`. Enter (and Tab, once something is chosen) calls `onCommit(pick, {via})` when given;
 * without it, Enter submits the form the field is in. `showError(error)` puts a message beside the field.
 */
export function personPicker(people, { label = "Person", onCommit = null, placeholder = "Type a name…" } = {}) {
  pickerCount += 1;
  const id = `person-pick-${pickerCount}`;
  let chosen = null; // the person picked from the list, while the field still shows their name
  let options = []; // [{person} | {newName}], as listed
  let active = -1;

  const input = h("input", {
    type: "text",
    id,
    name: "person",
    autocomplete: "off",
    spellcheck: "false",
    maxlength: "200",
    placeholder,
    role: "combobox",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": `${id}-list`,
    "aria-describedby": `${id}-error`,
  });
  const list = h("ul", { class: "picker-list", id: `${id}-list`, role: "listbox", "aria-label": "Suggestions", hidden: true });
  const error = h("p", { class: "picker-error", id: `${id}-error`, "aria-live": "polite", hidden: true });
  const element = h(
    "span",
    { class: "inline-form picker" },
    h("label", { for: id, text: label }),
    h("span", { class: "picker-field" }, input, list),
    error,
  );

  const changed = () => element.dispatchEvent(new Event("pickchange", { bubbles: true }));

  function value() {
    const text = input.value.trim();
    if (!text) return null;
    if (chosen && fold(chosen.name) === fold(text)) return { personId: chosen.id, name: chosen.name };
    const same = people.find((person) => fold(person.name) === fold(text));
    if (same) return { personId: same.id, name: same.name }; // never a second person of the same name
    return { newName: text };
  }

  function optionNode(option, i) {
    const optionId = `${id}-option-${i}`;
    if (option.newName) {
      return h(
        "li",
        { id: optionId, role: "option", class: "picker-option picker-new", dataset: { index: i } },
        h("span", { class: "picker-plus", "aria-hidden": "true", text: "+" }),
        h("span", { text: `Create “${option.newName}”` }),
      );
    }
    const { person } = option;
    const thumb = person.cover
      ? h("img", { src: person.cover.crop_url, alt: "", width: 32, height: 32, loading: "lazy" })
      : h("span", { class: "picker-initial", "aria-hidden": "true", text: person.name.slice(0, 1).toUpperCase() });
    return h(
      "li",
      { id: optionId, role: "option", class: "picker-option", dataset: { index: i, personId: person.id } },
      thumb,
      h("span", { class: "picker-name", text: person.name }),
      person.face_count != null ? h("span", { class: "muted small", text: ` ${person.face_count}` }) : null,
    );
  }

  function open() {
    const text = input.value.trim();
    const like = peopleLike(people, text);
    const exact = like.find((person) => fold(person.name) === fold(text));
    options = like.map((person) => ({ person }));
    if (text && !exact) options.push({ newName: text });
    const nodes = options.map(optionNode);
    if (exact && fold(exact.name) !== fold(chosen?.name ?? "")) {
      nodes.push(
        h("li", {
          class: "picker-note",
          role: "presentation",
          text: `${exact.name} is already a person: Enter chooses them (no second ${exact.name} is made).`,
        }),
      );
    }
    list.replaceChildren(...nodes);
    list.hidden = nodes.length === 0;
    input.setAttribute("aria-expanded", String(!list.hidden));
    highlight(options.length && text ? 0 : -1);
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(i) {
    active = i;
    list.querySelectorAll(".picker-option").forEach((node) => {
      const on = Number(node.dataset.index) === i;
      node.classList.toggle("is-active", on);
      node.setAttribute("aria-selected", String(on));
      if (on) node.scrollIntoView({ block: "nearest" });
    });
    if (i >= 0) input.setAttribute("aria-activedescendant", `${id}-option-${i}`);
    else input.removeAttribute("aria-activedescendant");
  }

  function take(option) {
    if (option.person) {
      chosen = option.person;
      input.value = option.person.name;
    } else {
      chosen = null;
      input.value = option.newName;
    }
    close();
    showError(null);
    changed();
  }

  function commit(via) {
    const pick = value();
    if (!pick) return false;
    if (onCommit) onCommit(pick, { via });
    else if (via === "enter") input.form?.requestSubmit();
    return true;
  }

  input.addEventListener("input", () => {
    if (chosen && fold(chosen.name) !== fold(input.value)) chosen = null;
    showError(null);
    open();
    changed();
  });
  input.addEventListener("focus", () => {
    if (!input.value) open();
  });
  input.addEventListener("blur", () => setTimeout(close, 150)); // after a click on an option has landed
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (list.hidden) open();
      const step = event.key === "ArrowDown" ? 1 : -1;
      if (options.length) highlight((active + step + options.length) % options.length);
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (!list.hidden && active >= 0) take(options[active]);
      commit("enter");
    } else if (event.key === "Escape" && !list.hidden) {
      event.preventDefault();
      event.stopPropagation(); // closes the list, not the page
      close();
    } else if (event.key === "Tab" && !event.shiftKey && onCommit) {
      if (!list.hidden && active >= 0 && input.value.trim()) take(options[active]);
      if (input.value.trim() && commit("tab")) event.preventDefault(); // the host moves the focus on
    }
  });
  list.addEventListener("mousedown", (event) => event.preventDefault()); // keep the focus in the field
  list.addEventListener("click", (event) => {
    const node = event.target.closest(".picker-option");
    if (!node) return;
    take(options[Number(node.dataset.index)]);
    input.focus();
    if (onCommit) commit("click");
  });

  /** A message beside the field (an Error, a string, or null to clear it). */
  function showError(problem) {
    const text = problem ? (problem.message ?? String(problem)) : "";
    error.textContent = text;
    error.hidden = !text;
    if (text) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  return {
    element,
    input,
    value,
    showError,
    focus: () => input.focus(),
    /** Show `person` as chosen (null: empty the field). */
    set(person) {
      chosen = person ?? null;
      input.value = person?.name ?? "";
      changed();
    },
    /** Replace the people offered (after one was created elsewhere). */
    setPeople(list) {
      people = list;
    },
  };
}
