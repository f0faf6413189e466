// People: cards with a cover face and a face count; find by name; show hidden people too; add a person (to the chosen
// or personal library).

import { api } from "../api.js";
import { $, h } from "../dom.js";
import { plural } from "../format.js";
import { libraries, ready } from "../library.js";
import { toast } from "../messages.js";
import { pager } from "../pager.js";

const grid = $("#people-grid");
const errorBox = $("#people-error");
let query = "";

function personCard(person) {
  const cover = person.cover
    ? h("img", { class: "avatar", src: person.cover.crop_url, alt: "", loading: "lazy", width: 96, height: 96 })
    : h("span", { class: "avatar avatar-empty", "aria-hidden": "true", text: person.name.slice(0, 1).toUpperCase() });
  return h(
    "li",
    {},
    h(
      "a",
      { class: "card person-card", href: `/people/${person.id}/` },
      cover,
      h("span", { class: "person-card-name", text: person.name }),
      h("span", { class: "muted small", text: plural(person.face_count, "face") }),
      person.never_match ? h("span", { class: "badge badge-warn", text: "never match" }) : null,
      person.hidden ? h("span", { class: "badge", text: "hidden" }) : null,
      libraries.current ? null : h("span", { class: "muted small", text: libraries.name(person.library) }),
    ),
  );
}

const people = pager($("#load-more"), errorBox, (page) => {
  grid.append(...page.results.map(personCard));
  $("#people-count").textContent = `(${page.count})`;
  $("#people-empty").hidden = grid.children.length > 0;
  $("#people-empty-text").hidden = Boolean(query);
  $("#people-no-match").hidden = !query;
  $("#people-no-match").textContent = `Nobody's name contains “${query}”.`;
});

function reload() {
  const params = new URLSearchParams();
  if (query) params.set("search", query);
  if ($("#show-hidden").checked) params.set("hidden", "all");
  people.start(libraries.url(`/api/people/${params.size ? `?${params}` : ""}`), {
    before: () => grid.replaceChildren(),
  });
}

let debounce;
$("#people-search").addEventListener("input", (event) => {
  clearTimeout(debounce);
  debounce = setTimeout(() => {
    query = event.target.value.trim();
    reload();
  }, 250);
});
$("#people-filter").addEventListener("submit", (event) => event.preventDefault());
$("#show-hidden").addEventListener("change", reload);

$("#person-create").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("#new-person-name");
  const name = input.value.trim();
  if (!name) return;
  try {
    const person = await api("/api/people/", { method: "POST", json: { name, library: libraries.target?.id } });
    input.value = "";
    nameError(null);
    toast(`${person.name} added. Give them faces from a photo or from Unknown faces.`);
    reload();
  } catch (error) {
    nameError(error); // beside the field: e.g. the name is someone's already
  }
});

function nameError(error) {
  $("#new-person-error").textContent = error?.message ?? "";
  $("#new-person-error").hidden = !error;
  if (error) $("#new-person-name").setAttribute("aria-invalid", "true");
  else $("#new-person-name").removeAttribute("aria-invalid");
}

/** The new-person form, where your role in the library new people go to allows it. */
function showCreate() {
  const target = libraries.target;
  // Libraries unknown (an error): the form stays, and the API says whether it may.
  const allowed = libraries.error ? true : Boolean(target && libraries.may("manage", target.id));
  $("#person-create").hidden = !allowed;
  $("#new-person-library").textContent = target ? `in ${target.name}` : "";
}

await ready;
showCreate();
reload();
