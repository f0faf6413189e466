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
 * Draw face boxes as buttons over `img` (inside its `.photo-stage`). `faces`: [{box, label, known, drawn, hidden,
 * title}] (hidden: not a face, or probably not one: drawn faint).
 * Coordinates are in image pixels: `size` gives the image's width and height, else its natural size is used.
 * `fit`: size the stage to the page first (false keeps a width the caller chose, e.g. zoomed).
 */
export function drawFaceBoxes(img, faces, { size, onSelect, maxHeight = "70vh", fit = true } = {}) {
  const stage = img.parentElement;
  const draw = () => {
    stage.querySelectorAll(".facebox").forEach((box) => box.remove());
    const width = size?.width || img.naturalWidth;
    const height = size?.height || img.naturalHeight;
    if (!width || !height) return;
    if (fit) fitStage(stage, width, height, { maxHeight });
    faces.forEach((face, i) => {
      const button = h(
        "button",
        {
          type: "button",
          class: `facebox${face.known ? " is-known" : ""}${face.active ? " is-active" : ""}${face.drawn ? " is-drawn" : ""}${
            face.hidden ? " is-hidden" : ""
          }`,
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

/**
 * Let the user drag a rectangle over `img` (inside its `.photo-stage`) with the mouse, once; resolves to the box
 * [x1, y1, x2, y2] in image pixels (`size`, else the natural size), or to null when Escape cancels.
 */
export function dragBox(img, { size } = {}) {
  const stage = img.parentElement;
  const width = size?.width || img.naturalWidth;
  const height = size?.height || img.naturalHeight;
  const rect = h("div", { class: "drawbox", hidden: true });
  stage.append(rect);
  stage.classList.add("is-drawing");
  return new Promise((resolve) => {
    let start = null;
    const point = (event) => {
      const bounds = img.getBoundingClientRect();
      const clamp = (v, max) => Math.max(0, Math.min(max, v));
      return [
        clamp(((event.clientX - bounds.left) / bounds.width) * width, width),
        clamp(((event.clientY - bounds.top) / bounds.height) * height, height),
      ];
    };
    const boxTo = (event) => {
      const [x, y] = point(event);
      return [Math.min(start[0], x), Math.min(start[1], y), Math.max(start[0], x), Math.max(start[1], y)];
    };
    const down = (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      stage.setPointerCapture(event.pointerId);
      start = point(event);
      Object.assign(rect.style, boxStyle([...start, ...start], width, height));
      rect.hidden = false;
    };
    const move = (event) => {
      if (start) Object.assign(rect.style, boxStyle(boxTo(event), width, height));
    };
    const up = (event) => {
      if (start) finish(boxTo(event).map((v) => Math.round(v * 10) / 10));
    };
    const key = (event) => {
      if (event.key === "Escape") finish(null);
    };
    const finish = (box) => {
      stage.removeEventListener("pointerdown", down);
      stage.removeEventListener("pointermove", move);
      stage.removeEventListener("pointerup", up);
      document.removeEventListener("keydown", key);
      stage.classList.remove("is-drawing");
      rect.remove();
      resolve(box);
    };
    stage.addEventListener("pointerdown", down);
    stage.addEventListener("pointermove", move);
    stage.addEventListener("pointerup", up);
    document.addEventListener("keydown", key);
  });
}
