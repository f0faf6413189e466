// The library the pages work in: the switcher in the top bar ("All libraries", or one of yours with your role there),
// kept in localStorage. Lists, uploads, searches and suggestions pass `library=` when one is chosen; controls that the
// role does not allow are hidden (the API refuses them anyway).

import { loadAll } from "./api.js";
import { $, h } from "./dom.js";

const STORAGE_KEY = "facesearch.library";

const switcher = $("#library-switch");
const state = { list: [], current: null, error: null };

function storedId() {
  try {
    return Number(localStorage.getItem(STORAGE_KEY)) || null;
  } catch {
    return null; // storage refused (private mode): every page shows all libraries
  }
}

function store(id) {
  try {
    if (id) localStorage.setItem(STORAGE_KEY, String(id));
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // the choice lasts for this page only
  }
}

export const libraryLabel = (library) => (library.role ? `${library.name} (${library.role})` : library.name);

function renderSwitcher() {
  if (!switcher) return;
  switcher.replaceChildren(
    h("option", { value: "", text: "All libraries" }),
    ...state.list.map((library) => h("option", { value: String(library.id), text: libraryLabel(library) })),
  );
  switcher.value = state.current ? String(state.current.id) : "";
  switcher.disabled = Boolean(state.error);
  switcher.title = state.error ? `Libraries could not be loaded: ${state.error.message}` : "";
  // The audit log is the owners': its nav entry shows once you own a library.
  const owner = state.list.some((library) => library.scopes.includes("own"));
  document.querySelectorAll("[data-owners-only]").forEach((item) => {
    item.hidden = !owner;
  });
}

/** Load (or reload, after a change on the Libraries page) your libraries; a stored choice you lost is forgotten. */
export async function refreshLibraries() {
  try {
    state.list = await loadAll("/api/libraries/?page_size=500");
    state.error = null;
  } catch (error) {
    state.list = [];
    state.error = error;
  }
  const id = storedId();
  state.current = state.list.find((library) => library.id === id) ?? null;
  if (id && !state.current && !state.error) store(null); // left, unshared or deleted since
  renderSwitcher();
  return libraries;
}

/** Work in this library (null: all of them) from now on, on every page. */
export function chooseLibrary(id) {
  store(id);
  location.reload();
}

export const libraries = {
  get list() {
    return state.list;
  },
  /** The chosen library, or null for all of them. */
  get current() {
    return state.current;
  },
  /** Why the libraries could not be loaded (an ApiError), or null. */
  get error() {
    return state.error;
  },
  get personal() {
    return state.list.find((library) => library.personal) ?? null;
  },
  byId(id) {
    return state.list.find((library) => library.id === id) ?? null;
  },
  name(id) {
    return this.byId(id)?.name ?? `Library ${id}`;
  },
  /** Your role in a library: viewer, editor, owner, or "" when it is not among yours. */
  role(id) {
    return this.byId(id)?.role ?? "";
  },
  /** Whether you may do `scope` in library `id`: read, search, upload, manage (name, merge, delete) or own (the
   * library's `scopes`, as the API decides them). */
  may(scope, id) {
    return this.byId(id)?.scopes.includes(scope) ?? false;
  },
  /** Where new photos and people go: the chosen library, else your personal one (null when you have none). */
  get target() {
    return state.current ?? this.personal;
  },
  /** `url` with `library=` when one is chosen. */
  url(url) {
    if (!state.current) return url;
    const [path, query = ""] = url.split("?");
    const params = new URLSearchParams(query);
    params.set("library", state.current.id);
    return `${path}?${params}`;
  },
};

/** Resolves to `libraries` once they are loaded: pages await it before their first API call. */
export const ready = refreshLibraries();

switcher?.addEventListener("change", () => chooseLibrary(Number(switcher.value) || null));
