// Erasure receipts (a person's or a library's): what was removed, and whether the scan after it found anything left.

import { h } from "./dom.js";
import { formatDate, plural } from "./format.js";
import { infoDialog } from "./messages.js";

const NOUNS = {
  people: ["person", "people"],
  faces: ["face"],
  photos: ["photo"],
  jobs: ["job"],
  api_keys: ["API key"],
  members: ["membership"],
};

const words = (key) => key.replaceAll("_", " ");

/** The counts of a receipt's `removed`, in words: "1 person, 3 faces, 0 photos". */
export function removedText(removed) {
  return Object.entries(removed)
    .map(([key, count]) => (NOUNS[key] ? plural(count, ...NOUNS[key]) : `${count} ${words(key)}`))
    .join(", ");
}

/** The receipt as a list: removed counts, the verification, and who asked when. */
export function receiptBody(receipt) {
  const found = receipt.verification?.found ?? {};
  const left = Object.entries(found).filter(([key, count]) => key !== "files_kept_shared" && count > 0);
  const shared = found.files_kept_shared ?? 0;
  return h(
    "div",
    { class: "receipt", dataset: { verified: String(receipt.verified) } },
    h(
      "p",
      {},
      h("strong", { text: "Removed: " }),
      h("span", { class: "receipt-removed", text: removedText(receipt.removed) }),
    ),
    receipt.verified
      ? h(
          "p",
          { class: "receipt-verified" },
          h("span", { class: "badge badge-ok", text: "verified" }),
          " A scan of the database and the stored files found nothing of it left.",
        )
      : h(
          "p",
          { class: "receipt-verified" },
          h("span", { class: "badge badge-danger", text: "not verified" }),
          ` The scan found some left: ${left.map(([key, count]) => `${words(key)} ${count}`).join(", ")}.`,
        ),
    shared
      ? h("p", { class: "muted small", text: `${plural(shared, "file")} kept: another library holds the same photo.` })
      : null,
    h("p", {
      class: "muted small",
      text:
        `Receipt ${receipt.id}, ${receipt.library_name}, by ${receipt.requested_by || "the server"}, ` +
        `${formatDate(receipt.created_at)}.`,
    }),
  );
}

/** Show the receipt in a modal; resolves when it is closed. */
export function showReceipt(receipt, { title, close = "OK" }) {
  return infoDialog({ title, body: receiptBody(receipt), close });
}
