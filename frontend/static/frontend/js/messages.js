// What the pages tell the user: errors in an alert element, passing toasts, and confirmation dialogs.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

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

/**
 * A modal confirmation (native <dialog>: focus is trapped and Escape cancels); resolves to true when confirmed.
 * `body`: more content under the message (an option's checkbox, a list), read by the caller once it resolves.
 */
export function confirmDialog({ title, message, body = null, confirm = "OK", danger = false }) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title", text: title }),
      message ? h("p", { text: message }) : null,
      body,
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

/** A modal message with one button (native <dialog>); resolves when it is closed, by the button or Escape. */
export function infoDialog({ title, body = null, close = "OK" }) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-labelledby": "info-title" },
      h("h2", { id: "info-title", text: title }),
      body,
      h(
        "form",
        { method: "dialog", class: "row" },
        h("button", { class: "btn btn-primary", value: "ok", text: close }),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve();
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
