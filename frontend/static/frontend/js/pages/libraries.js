// Libraries: yours with your role and counts; create, rename, share (members and roles), API keys, delete (an erasure,
// with its receipt), and the receipts of erasures in the libraries you own.

import { api, loadAll } from "../api.js";
import { $, h } from "../dom.js";
import { removedText, showReceipt } from "../erasure.js";
import { formatDate, plural, timeAgo } from "../format.js";
import { chooseLibrary, libraries, ready, refreshLibraries } from "../library.js";
import { confirmDialog, showError, toast } from "../messages.js";
import { pager } from "../pager.js";

const ROLES = ["viewer", "editor", "owner"];
const ROLE_HELP = {
  viewer: "sees and searches",
  editor: "also uploads, names faces, merges and deletes",
  owner: "also shares, manages API keys, reads the audit log, deletes the library",
};
const SCOPES = [
  ["read", "see photos, faces, people and jobs"],
  ["upload", "add photos"],
  ["search", "search, identify, verify"],
  ["manage", "name faces, edit people, delete"],
];
const list = $("#library-list");
const errorBox = $("#libraries-error");
const me = document.body.dataset.username;

function counts(library) {
  return [
    plural(library.photo_count, "photo"),
    plural(library.face_count, "face"),
    plural(library.person_count, "person", "people"),
  ].join(" · ");
}

function render() {
  const shown = libraries.list;
  $("#library-count").textContent = `(${shown.length})`;
  $("#libraries-empty").hidden = shown.length > 0;
  list.replaceChildren(...shown.map(libraryCard));
}

async function reload() {
  await refreshLibraries();
  if (libraries.error) showError(errorBox, libraries.error);
  render();
}

function libraryCard(library) {
  const owner = library.role === "owner";
  const current = libraries.current?.id === library.id;
  const card = h("li", { class: "card library", dataset: { libraryId: library.id } });
  const renameForm = owner ? renameFormFor(library, card) : null;
  card.append(
    h(
      "div",
      { class: "library-head" },
      h("h2", { class: "library-name", text: library.name }),
      h("span", { class: `badge${owner ? " badge-accent" : ""}`, title: ROLE_HELP[library.role], text: library.role }),
      library.personal
        ? h("span", { class: "badge", text: "personal", title: "Your uploads go here by default" })
        : null,
      current ? h("span", { class: "badge badge-ok", text: "current" }) : null,
    ),
    h("p", {
      class: "muted small library-counts",
      text: `${counts(library)} · created ${formatDate(library.created_at)}`,
    }),
    renameForm,
    h(
      "div",
      { class: "row library-actions" },
      current
        ? null
        : h("button", {
            type: "button",
            class: "btn btn-small btn-primary",
            text: "Use",
            "aria-label": `Use ${library.name}`,
            title: "Show this library on every page and add photos to it",
            on: { click: () => chooseLibrary(library.id) },
          }),
      h("button", {
        type: "button",
        class: "btn btn-small",
        text: owner ? "Share…" : "Members…",
        "aria-label": `${owner ? "Share" : "Members of"} ${library.name}`,
        on: { click: () => openMembers(library) },
      }),
      owner
        ? h("button", {
            type: "button",
            class: "btn btn-small",
            text: "Rename",
            "aria-label": `Rename ${library.name}`,
            on: {
              click: () => {
                renameForm.hidden = false;
                renameForm.querySelector("input").focus();
              },
            },
          })
        : null,
      owner
        ? h("button", {
            type: "button",
            class: "btn btn-small btn-danger",
            text: "Delete…",
            "aria-label": `Delete ${library.name}`,
            on: { click: () => deleteLibrary(library) },
          })
        : null,
    ),
    owner ? keysSection(library) : null,
  );
  return card;
}

// --------------------------------------------------------------------------------------------- create, rename

$("#library-create").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("#new-library-name");
  const name = input.value.trim();
  if (!name) return;
  try {
    const library = await api("/api/libraries/", { method: "POST", json: { name } });
    input.value = "";
    showError(errorBox, null);
    toast(`${library.name} created. Use it to add photos to it, or share it.`);
    await reload();
  } catch (error) {
    showError(errorBox, error);
  }
});

function renameFormFor(library, card) {
  const id = `rename-${library.id}`;
  const input = h("input", { id, name: "name", required: true, maxlength: "200", value: library.name });
  const form = h(
    "form",
    { class: "inline-form rename-form", hidden: true },
    h("label", { for: id, text: "New name" }),
    input,
    h("button", { type: "submit", class: "btn btn-small btn-primary", text: "Save" }),
    h("button", {
      type: "button",
      class: "btn btn-small btn-quiet",
      text: "Cancel",
      on: {
        click: () => {
          form.hidden = true;
          input.value = library.name;
        },
      },
    }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) return;
    try {
      await api(`/api/libraries/${library.id}/`, { method: "PATCH", json: { name } });
      toast(`Renamed to ${name}.`);
      showError(errorBox, null);
      await reload();
    } catch (error) {
      showError(errorBox, error);
      card.scrollIntoView({ block: "nearest" });
    }
  });
  return form;
}

// --------------------------------------------------------------------------------------------------- delete

async function deleteLibrary(library) {
  const ok = await confirmDialog({
    title: `Delete ${library.name}?`,
    message:
      `This erases the library and everything in it, for good: ${counts(library).replaceAll(" · ", ", ")}, ` +
      "the photo files, its jobs, its API keys and who it is shared with. Nobody can open it afterwards.",
    confirm: "Erase library",
    danger: true,
  });
  if (!ok) return;
  try {
    const receipt = await api(`/api/libraries/${library.id}/`, { method: "DELETE" });
    showError(errorBox, null);
    await reload();
    await showReceipt(receipt, { title: `${library.name} erased` });
    erasures.reload();
  } catch (error) {
    showError(errorBox, error);
  }
}

// -------------------------------------------------------------------------------------------------- members

/** The library's members in a dialog: owners add, change roles and remove; anyone else sees them and can leave. */
function openMembers(library) {
  const owner = library.role === "owner";
  const dialogError = h("div", { class: "alert alert-error", role: "alert", hidden: true });
  const members = h("ul", { class: "member-list", "aria-label": `Members of ${library.name}` });
  const dialog = h(
    "dialog",
    { class: "dialog-wide", "aria-labelledby": "members-title" },
    h("h2", { id: "members-title", text: `${owner ? "Share" : "Members of"} ${library.name}` }),
    h(
      "ul",
      { class: "muted small role-help" },
      ROLES.map((role) => h("li", {}, h("strong", { text: role }), `: ${ROLE_HELP[role]}`)),
    ),
    dialogError,
    members,
    owner ? shareForm() : null,
    h("form", { method: "dialog", class: "row" }, h("button", { class: "btn", value: "close", text: "Close" })),
  );
  let changed = false;
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (changed) reload();
  });

  async function load() {
    try {
      const rows = await loadAll(`/api/libraries/${library.id}/members/?page_size=500`);
      members.replaceChildren(...rows.map(memberRow));
      showError(dialogError, null);
    } catch (error) {
      showError(dialogError, error);
    }
  }

  function memberRow(member) {
    const self = member.username === me;
    const base = `member-${member.user_id}`;
    const rowError = h("div", { class: "field-error", id: `${base}-error`, role: "alert", hidden: true });
    const name = h(
      "span",
      { class: "member-name" },
      member.username,
      self ? h("span", { class: "muted", text: " (you)" }) : null,
    );
    let role = h("span", { class: "badge", text: member.role });
    if (owner) {
      role = h(
        "span",
        { class: "inline-form" },
        h("label", { for: `${base}-role`, class: "visually-hidden", text: `Role of ${member.username}` }),
        h(
          "select",
          { id: `${base}-role`, "aria-describedby": rowError.id },
          ROLES.map((r) => h("option", { value: r, text: r, selected: r === member.role })),
        ),
      );
      const select = role.querySelector("select");
      select.addEventListener("change", async () => {
        try {
          await api(`/api/libraries/${library.id}/members/`, {
            method: "POST",
            json: { username: member.username, role: select.value },
          });
          member.role = select.value;
          changed = changed || self;
          showError(rowError, null);
          toast(`${member.username} is now ${member.role} of ${library.name}.`);
        } catch (error) {
          select.value = member.role;
          showError(rowError, error);
        }
      });
    }
    const remove =
      owner || self
        ? h("button", {
            type: "button",
            class: "btn btn-small btn-danger",
            text: self ? "Leave" : "Remove",
            "aria-label": self ? `Leave ${library.name}` : `Remove ${member.username}`,
            "aria-describedby": rowError.id,
            on: { click: () => removeMember(member, self, rowError) },
          })
        : null;
    return h(
      "li",
      { class: "member", dataset: { userId: member.user_id, username: member.username } },
      name,
      role,
      remove,
      rowError,
    );
  }

  async function removeMember(member, self, rowError) {
    const ok = await confirmDialog({
      title: self ? `Leave ${library.name}?` : `Stop sharing ${library.name} with ${member.username}?`,
      message: self
        ? "You will no longer see its photos and people, until an owner shares it with you again."
        : `${member.username} will no longer see its photos and people.`,
      confirm: self ? "Leave" : "Remove",
      danger: true,
    });
    if (!ok) return;
    try {
      await api(`/api/libraries/${library.id}/members/${member.user_id}/`, { method: "DELETE" });
      if (self) {
        toast(`You left ${library.name}.`);
        changed = true;
        dialog.close();
        return;
      }
      toast(`${library.name} is no longer shared with ${member.username}.`);
      await load();
    } catch (error) {
      showError(rowError, error);
    }
  }

  function shareForm() {
    const fieldError = h("div", { class: "field-error", id: "share-error", role: "alert", hidden: true });
    const username = h("input", {
      type: "text",
      id: "share-username",
      name: "username",
      required: true,
      maxlength: "150",
      autocomplete: "off",
      autocapitalize: "none",
      "aria-describedby": "share-error",
    });
    const role = h(
      "select",
      { id: "share-role", name: "role" },
      ROLES.map((r) => h("option", { value: r, text: r })),
    );
    const form = h(
      "form",
      { class: "share-form", "aria-label": `Share ${library.name} with someone` },
      h("div", { class: "field" }, h("label", { for: "share-username", text: "Username" }), username),
      h("div", { class: "field" }, h("label", { for: "share-role", text: "Role" }), role),
      h("button", { type: "submit", class: "btn btn-primary", text: "Share" }),
      fieldError,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = username.value.trim();
      if (!name) return;
      try {
        const member = await api(`/api/libraries/${library.id}/members/`, {
          method: "POST",
          json: { username: name, role: role.value },
        });
        username.value = "";
        showError(fieldError, null);
        username.removeAttribute("aria-invalid");
        toast(`${library.name} is shared with ${member.username} as ${member.role}.`);
        await load();
      } catch (error) {
        showError(fieldError, error);
        username.setAttribute("aria-invalid", "true");
        username.focus();
      }
    });
    return form;
  }

  document.body.append(dialog);
  dialog.showModal();
  load();
}

// ------------------------------------------------------------------------------------------------- API keys

function keyStatus(key) {
  if (key.revoked_at)
    return h("span", { class: "badge badge-danger", title: formatDate(key.revoked_at), text: "revoked" });
  if (key.expires_at && new Date(key.expires_at) <= new Date())
    return h("span", { class: "badge badge-warn", text: "expired" });
  return h("span", { class: "badge badge-ok", text: "active" });
}

/** The library's API keys (owners): the list, a new key (shown once) and revoking one. */
function keysSection(library) {
  const base = `keys-${library.id}`;
  const details = h("details", { class: "keys" }, h("summary", { text: "API keys" }));
  const sectionError = h("div", { class: "alert alert-error", role: "alert", hidden: true });
  const rows = h("tbody");
  const empty = h("p", { class: "muted small", text: "No keys yet.", hidden: true });
  const table = h(
    "table",
    { class: "table keys-table" },
    h("caption", { class: "visually-hidden", text: `API keys of ${library.name}` }),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Name", "Scopes", "Expires", "Last used", "Created", "Status", ""].map((title) =>
          h("th", { scope: "col", text: title }),
        ),
      ),
    ),
    rows,
  );
  const created = h("div", { class: "new-key", hidden: true });

  async function load() {
    try {
      const keys = await loadAll(`/api/libraries/${library.id}/keys/?page_size=500`);
      rows.replaceChildren(...keys.map(keyRow));
      empty.hidden = keys.length > 0;
      table.hidden = keys.length === 0;
      showError(sectionError, null);
    } catch (error) {
      showError(sectionError, error);
    }
  }

  function keyRow(key) {
    return h(
      "tr",
      { dataset: { keyId: key.id } },
      h(
        "th",
        { scope: "row" },
        key.name,
        h("span", { class: "muted small key-prefix", title: "how the key starts", text: ` fsk_${key.prefix}_…` }),
      ),
      h("td", { text: key.scopes.join(", ") }),
      h("td", { text: key.expires_at ? formatDate(key.expires_at) : "never" }),
      h("td", {
        title: formatDate(key.last_used_at),
        text: key.last_used_at ? timeAgo(key.last_used_at) : "never used",
      }),
      h("td", { text: `${formatDate(key.created_at)}${key.created_by ? ` by ${key.created_by}` : ""}` }),
      h("td", {}, keyStatus(key), key.revoked_at ? ` ${formatDate(key.revoked_at)}` : null),
      h(
        "td",
        {},
        key.revoked_at
          ? null
          : h("button", {
              type: "button",
              class: "btn btn-small btn-danger",
              text: "Revoke",
              "aria-label": `Revoke key ${key.name}`,
              on: { click: () => revoke(key) },
            }),
      ),
    );
  }

  async function revoke(key) {
    const ok = await confirmDialog({
      title: `Revoke ${key.name}?`,
      message: "Applications using this key are refused from now on. The key stays listed, revoked.",
      confirm: "Revoke key",
      danger: true,
    });
    if (!ok) return;
    try {
      await api(`/api/libraries/${library.id}/keys/${key.id}/`, { method: "DELETE" });
      toast(`${key.name} revoked.`);
      await load();
    } catch (error) {
      showError(sectionError, error);
    }
  }

  const formError = h("div", { class: "alert alert-error", role: "alert", hidden: true });
  const name = h("input", { type: "text", id: `${base}-name`, name: "name", required: true, maxlength: "100" });
  const expires = h("input", { type: "datetime-local", id: `${base}-expires`, name: "expires_at" });
  const scopeBoxes = SCOPES.map(([scope]) =>
    h("input", { type: "checkbox", id: `${base}-${scope}`, name: "scopes", value: scope, checked: scope === "read" }),
  );
  const form = h(
    "form",
    { class: "key-form", "aria-label": `New API key for ${library.name}` },
    h("div", { class: "field" }, h("label", { for: name.id, text: "Key name" }), name),
    h(
      "fieldset",
      { class: "scopes" },
      h("legend", { text: "Scopes" }),
      SCOPES.map(([scope, help], i) =>
        h(
          "span",
          { class: "scope" },
          h("label", { class: "check" }, scopeBoxes[i], scope),
          h("span", { class: "muted small", text: help }),
        ),
      ),
    ),
    h("div", { class: "field" }, h("label", { for: expires.id, text: "Expires (optional)" }), expires),
    h("button", { type: "submit", class: "btn btn-primary", text: "Create key" }),
    formError,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const scopes = scopeBoxes.filter((box) => box.checked).map((box) => box.value);
    if (!scopes.length) {
      showError(formError, new Error("Tick at least one scope."));
      return;
    }
    const json = { name: name.value.trim(), scopes };
    if (expires.value) json.expires_at = new Date(expires.value).toISOString();
    try {
      const key = await api(`/api/libraries/${library.id}/keys/`, { method: "POST", json });
      showError(formError, null);
      form.reset();
      showCreated(key);
      await load();
    } catch (error) {
      showError(formError, error);
    }
  });

  function showCreated(key) {
    const value = h("input", {
      type: "text",
      id: `${base}-new-key`,
      class: "mono",
      readonly: true,
      value: key.key,
      "aria-describedby": `${base}-new-key-note`,
    });
    const copy = async () => {
      try {
        await navigator.clipboard.writeText(key.key);
        toast("The key is copied.");
      } catch {
        value.select();
        toast(document.execCommand("copy") ? "The key is copied." : "Select the key and copy it (Ctrl+C).");
      }
    };
    created.replaceChildren(
      h(
        "p",
        { id: `${base}-new-key-note` },
        h("strong", { text: `${key.name}: copy the key now. You will not see it again.` }),
        " It is stored only as a hash; if you lose it, revoke it and create another.",
      ),
      h(
        "div",
        { class: "inline-form" },
        h("label", { for: value.id, text: "New key" }),
        value,
        h("button", {
          type: "button",
          class: "btn btn-primary",
          text: "Copy",
          "aria-label": "Copy the new key",
          on: { click: copy },
        }),
        h("button", {
          type: "button",
          class: "btn btn-quiet",
          text: "Done",
          on: {
            click: () => {
              created.replaceChildren();
              created.hidden = true;
            },
          },
        }),
      ),
      h(
        "p",
        { class: "muted small" },
        "Applications send it as ",
        h("code", { text: "Authorization: Api-Key <key>" }),
        ".",
      ),
    );
    created.hidden = false;
    value.focus();
    value.select();
  }

  let loaded = false;
  details.addEventListener("toggle", () => {
    if (details.open && !loaded) {
      loaded = true;
      load();
    }
  });
  details.append(
    h(
      "div",
      { class: "keys-body" },
      sectionError,
      created,
      table,
      empty,
      h("h3", { class: "h-small", text: "New key" }),
      form,
    ),
  );
  return details;
}

// ------------------------------------------------------------------------------------------- erasure receipts

const SUBJECT = { person: "Person", library: "Library" };
const erasureList = $("#erasure-list");
const erasurePager = pager($("#load-more"), $("#erasures-error"), (page) => {
  erasureList.append(
    ...page.results.map((receipt) =>
      h(
        "li",
        { class: "erasure", dataset: { receiptId: receipt.id } },
        h("strong", { text: `${SUBJECT[receipt.subject] ?? receipt.subject} ${receipt.subject_id}` }),
        ` in ${receipt.library_name}: ${removedText(receipt.removed)} `,
        h("span", {
          class: `badge ${receipt.verified ? "badge-ok" : "badge-danger"}`,
          text: receipt.verified ? "verified" : "not verified",
        }),
        h("span", {
          class: "muted small",
          text: ` by ${receipt.requested_by || "the server"}, ${formatDate(receipt.created_at)}`,
        }),
      ),
    ),
  );
  $("#erasures").hidden = erasureList.children.length === 0;
});
const erasures = {
  reload() {
    if (!libraries.list.some((library) => library.role === "owner")) return;
    erasurePager.start(libraries.url("/api/erasures/?page_size=20"), { before: () => erasureList.replaceChildren() });
  },
};

await ready;
if (libraries.error) showError(errorBox, libraries.error);
render();
erasures.reload();
