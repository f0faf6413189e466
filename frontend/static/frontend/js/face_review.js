// A person's verdict on a face, the same on every page: "Not a face" (left out everywhere), "Ignore" (a real face
// nobody wants to name), "It's a face" (shown although the quality gate hid it), and Undo. Kept across reprocessing.

import { api } from "./api.js";
import { h } from "./dom.js";
import { toast } from "./messages.js";

/** Why a face is hidden or set aside, in words ("" for a face shown as usual). */
export function reviewStatus(face) {
  if (face.review === "not_face") return "Not a face";
  if (face.review === "ignored") return "Ignored";
  if (face.hidden) return "Hidden: probably not a face";
  return "";
}

/** Record `review` ("not_face", "ignored", "face", or "" to undo) on the face; resolves to the face as it is now. */
export async function reviewFace(face, review, what = "This face") {
  const updated = await api(`/api/faces/${face.id}/review/`, { method: "POST", json: { review } });
  const said = {
    not_face: `${what} is marked as not a face: it is left out everywhere.`,
    ignored: `${what} is ignored: it leaves Unknown faces and the suggestions.`,
    face: `${what} is kept as a face.`,
    "": `${what} is back as it was.`,
  };
  toast(said[review]);
  return updated;
}

/**
 * The buttons of a face's verdicts for someone who may manage it: Not a face and Ignore for a face shown as usual
 * (Ignore only when nobody named it), Undo for a verdict, "It's a face" for a face the quality gate hid.
 * `name` is how the buttons' labels call the face ("face 2"); `onDone(face)` gets the face as it is after a click.
 */
export function reviewButtons(face, { name, onDone, onError }) {
  const button = (text, review, label) =>
    h("button", {
      type: "button",
      class: "btn btn-small btn-quiet",
      text,
      "aria-label": `${label} ${name}`.trim(),
      on: {
        click: async (event) => {
          event.currentTarget.disabled = true;
          try {
            onDone(await reviewFace(face, review, name.charAt(0).toUpperCase() + name.slice(1)));
          } catch (error) {
            onError(error);
          }
        },
      },
    });
  if (face.review === "not_face" || face.review === "ignored" || face.review === "face") {
    return [button("Undo", "", `Undo ${reviewStatus(face).toLowerCase() || "kept as a face"}:`)];
  }
  if (face.hidden) return [button("It's a face", "face", "Keep as a face:")];
  return [
    button("Not a face", "not_face", "Not a face:"),
    face.person ? null : button("Ignore", "ignored", "Ignore"),
  ].filter(Boolean);
}
