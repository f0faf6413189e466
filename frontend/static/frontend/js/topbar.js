// On a phone the top bar gives its room back to the page: it slides away while the page scrolls down and comes back
// as soon as it scrolls up (or something in the bar takes the focus). Desktop keeps it where it is.

const bar = document.querySelector(".topbar");
const phone = window.matchMedia("(max-width: 900px)");
const JITTER = 6; // px: a finger resting on the screen moves the page a little; that is no scroll

let last = window.scrollY;
let pending = false;

function tuck(hidden) {
  bar.classList.toggle("is-tucked", hidden);
}

function update() {
  pending = false;
  const y = Math.max(0, window.scrollY);
  const delta = y - last;
  if (Math.abs(delta) < JITTER) return;
  last = y;
  const busy = bar.contains(document.activeElement) || bar.querySelector("details[open]");
  tuck(phone.matches && delta > 0 && y > bar.offsetHeight && !busy);
}

if (bar) {
  window.addEventListener(
    "scroll",
    () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(update);
    },
    { passive: true },
  );
  bar.addEventListener("focusin", () => tuck(false));
  phone.addEventListener("change", () => tuck(false));
  // The nav scrolls sideways on a phone: keep the current page's entry in sight.
  bar.querySelector('.mainnav [aria-current="page"]')?.scrollIntoView({ block: "nearest", inline: "nearest" });
}
