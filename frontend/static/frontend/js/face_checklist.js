// A group's faces as a list of ticks with their crops (suggested groups, a person's split): the one place they are
// drawn, so both name each face alike for screen readers, by its place in the group.
import { h } from "./dom.js";

/** `{ boxes, list }`: one checkbox per face (its value the face id, `idPrefix` + id its element id) and the list. */
export function faceChecklist(faces, { number, idPrefix, listLabel, checked = false }) {
  const boxes = faces.map((face, i) =>
    h("input", {
      type: "checkbox",
      id: `${idPrefix}${face.id}`,
      value: face.id,
      checked,
      "aria-label": `Face ${i + 1} of group ${number}`,
    }),
  );
  const list = h(
    "ul",
    { class: "suggestion-faces", "aria-label": listLabel },
    faces.map((face, i) =>
      h(
        "li",
        { class: "card selectable" },
        boxes[i],
        h(
          "label",
          { for: boxes[i].id },
          h("img", { src: face.crop_url, alt: `Face ${i + 1} of group ${number}`, loading: "lazy", width: 96, height: 96 }),
        ),
      ),
    ),
  );
  return { boxes, list };
}
