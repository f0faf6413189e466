// A photo on its `.photo-stage`: the stage sized to the image, and face boxes drawn over it.

import { h } from "./dom.js";

/** The box in percent of the image, so it stays on the face at any displayed size. */
function boxStyle(box, width, height) {
  const [x1, y1, x2, y2] = box;
  const clamp = (v) => Math.max(0, Math.min(100, v));
  return {
    left: `${clamp((x1 / width) * 100)}%`,
    top: `${clamp((y1 / height) * 100)}%`,
    width: `${clamp(((x2 - x1) / width) * 100)}%`,
    height: `${clamp(((y2 - y1) / height) * 100)}%`,
  };
}

/**
 * Draw face boxes as buttons over `img` (inside its `.photo-stage`). `faces`: [{box, label, known, title}].
 * Coordinates are in image pixels: `size` gives the image's width and height, else its natural size is used.
 */
export function drawFaceBoxes(img, faces, { size, onSelect, maxHeight = "70vh" } = {}) {
  const stage = img.parentElement;
  const draw = () => {
    stage.querySelectorAll(".facebox").forEach((box) => box.remove());
    const width = size?.width || img.naturalWidth;
    const height = size?.height || img.naturalHeight;
    if (!width || !height) return;
    fitStage(stage, width, height, { maxHeight });
    faces.forEach((face, i) => {
      const button = h(
        "button",
        {
          type: "button",
          class: `facebox${face.known ? " is-known" : ""}${face.active ? " is-active" : ""}`,
          style: boxStyle(face.box, width, height),
          "aria-label": face.title,
          title: face.title,
          "aria-pressed": onSelect && face.active !== undefined ? String(Boolean(face.active)) : null,
          dataset: { index: i },
          on: { click: () => onSelect?.(i) },
        },
        face.label ? h("span", { class: "facebox-label", text: face.label }) : null,
      );
      stage.append(button);
    });
  };
  if (img.complete && img.naturalWidth) draw();
  else img.addEventListener("load", draw, { once: true });
}

/** Size a `.photo-stage` to its image: as wide as fits, no taller than `maxHeight`, at most twice its pixels. */
export function fitStage(stage, width, height, { maxHeight = "70vh" } = {}) {
  const ratio = width / height;
  stage.style.width = `min(100%, calc(${maxHeight} * ${ratio.toFixed(4)}), ${Math.round(width * 2)}px)`;
}
