// People: cards with a cover face and a face count; find by name; add a person.

import { api } from "../api.js";
import { $, h } from "../dom.js";
import { plural } from "../format.js";
import { showError, toast } from "../messages.js";
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
  people.start(`/api/people/${params.size ? `?${params}` : ""}`, { before: () => grid.replaceChildren() });
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

$("#person-create").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("#new-person-name");
  const name = input.value.trim();
  if (!name) return;
  try {
    const person = await api("/api/people/", { method: "POST", json: { name } });
    input.value = "";
    toast(`${person.name} added. Give them faces from a photo or from Unknown faces.`);
    reload();
  } catch (error) {
    showError(errorBox, error);
  }
});

reload();
