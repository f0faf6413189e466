// Paginated API lists on the page: a "Load more" button plus infinite scroll.

import { api } from "./api.js";
import { showError } from "./messages.js";

/**
 * A paginated API list: fetches pages from `start(url)` on, calling `render(page)` for each. The button loads the
 * next page, and so does scrolling near it (infinite scroll); the button stays for keyboard users. `start` again
 * (a new filter) drops any page still in flight; `before` runs just before the first page renders (clear the list).
 */
export function pager(button, errorBox, render) {
  let next = null;
  let busy = false;
  let generation = 0;
  let before = null;
  const more = async () => {
    if (!next || busy) return;
    const mine = generation;
    busy = true;
    button.disabled = true;
    try {
      const page = await api(next);
      if (mine !== generation) return;
      before?.();
      before = null;
      render(page);
      next = page.next;
      showError(errorBox, null);
    } catch (error) {
      if (mine === generation) showError(errorBox, error); // `next` stays: the button retries
    } finally {
      if (mine === generation) {
        busy = false;
        button.disabled = false;
        button.hidden = !next;
        if (next) {
          // Observing afresh reports whether the end of the list is still near: if so, the next page loads too.
          observer.unobserve(sentinel);
          observer.observe(sentinel);
        }
      }
    }
  };
  button.addEventListener("click", more);
  const sentinel = button.parentElement;
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) more();
  }, { rootMargin: "600px" });
  observer.observe(sentinel);
  return {
    start(url, options = {}) {
      generation += 1;
      busy = false;
      next = url;
      before = options.before ?? null;
      button.hidden = true;
      return more();
    },
  };
}
