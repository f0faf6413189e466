// Choosing who a face is: an existing person, or a new one by name.

import { h } from "./dom.js";

let pickerCount = 0;

/**
 * A labelled person chooser: an existing person, or "New person…" with a name field.
 * `value()` → `{personId}` or `{newName}` or null (nothing chosen yet); a change fires `pickchange` on `element`.
 */
export function personPicker(people, { label = "Person" } = {}) {
  pickerCount += 1;
  const id = `person-pick-${pickerCount}`;
  const select = h(
    "select",
    { id, name: "person" },
    h("option", { value: "", text: "Choose a person…" }),
    h("option", { value: "new", text: "New person…" }),
    people.map((person) => h("option", { value: String(person.id), text: person.name })),
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
    value() {
      if (select.value === "new") {
        const name = nameInput.value.trim();
        return name ? { newName: name } : null;
      }
      return select.value ? { personId: Number(select.value) } : null;
    },
  };
}
