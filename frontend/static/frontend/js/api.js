// The REST API under /api/, as the signed-in user: session cookie plus Django's CSRF token in X-CSRFToken.
// Every request goes through `api()`, so every failure reaches the pages as one ApiError, worded in `errorFor`.

export class ApiError extends Error {
  constructor(message, status, extra = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
  }

  /** The message with what the API said about each field or file, as plain lines. */
  get details() {
    const lines = [];
    const fields = this.extra?.fields;
    if (fields && typeof fields === "object") {
      for (const [field, problems] of Object.entries(fields)) {
        const text = [].concat(problems).map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(" ");
        lines.push(field === "non_field_errors" ? text : `${field}: ${text}`);
      }
    }
    for (const error of this.extra?.errors ?? []) lines.push(`${error.file}: ${error.message}`);
    return lines;
  }
}

function csrfToken() {
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

/**
 * The error for a non-2xx answer. `body` is the API's `{message, extra}` (null when the answer was not JSON: a
 * proxy's page, a crash); a 401 is always an ended session, whatever the endpoint said.
 */
function errorFor(status, body, retryAfter) {
  const extra = body?.extra ?? {};
  if (status === 401) return new ApiError("Your session has ended. Sign in again.", status, extra);
  if (status === 429) {
    // The API says how long in `extra.wait` and Retry-After; a proxy's 429 may carry only the header.
    const wait = Math.ceil(Number(extra.wait ?? retryAfter ?? Number.NaN));
    const when = Number.isFinite(wait) ? `in ${wait} s` : "shortly";
    return new ApiError(`The server is busy: try again ${when}.`, status, extra);
  }
  if (body?.message) return new ApiError(body.message, status, extra);
  if (status === 413) return new ApiError("The upload is too large for the server.", status); // the proxy's limit
  return new ApiError(`The server answered ${status}.`, status, extra);
}

/** A request by fetch, as `{status, text, retryAfter}`; rejects only when no answer came. */
async function send(url, init) {
  const response = await fetch(url, { ...init, credentials: "same-origin" });
  return { status: response.status, text: await response.text(), retryAfter: response.headers.get("Retry-After") };
}

/** The same by XMLHttpRequest, which (unlike fetch) reports upload progress: `onProgress(loadedBytes, totalBytes)`. */
function sendWithProgress(url, { method, headers, body }, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () =>
      resolve({ status: xhr.status, text: xhr.responseText, retryAfter: xhr.getResponseHeader("Retry-After") }),
    );
    xhr.addEventListener("error", reject);
    xhr.addEventListener("abort", reject);
    xhr.send(body);
  });
}

/**
 * Call the API: `json` is sent as JSON, `form` (FormData) as multipart, with upload progress to `onProgress` when
 * given. Resolves to the parsed body (null for 204), rejects with ApiError carrying the API's `message` and `extra`.
 */
export async function api(url, { method = "GET", json, form, onProgress } = {}) {
  const headers = { Accept: "application/json" };
  let body = form;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let answer;
  try {
    const init = { method, headers, body };
    answer = await (onProgress ? sendWithProgress(url, init, onProgress) : send(url, init));
  } catch {
    throw new ApiError("The server cannot be reached. Check your connection and try again.", 0);
  }
  let data = null;
  try {
    data = answer.text ? JSON.parse(answer.text) : null;
  } catch {
    // not JSON: errorFor words the status alone
  }
  if (answer.status < 200 || answer.status > 299) throw errorFor(answer.status, data, answer.retryAfter);
  return data;
}

/**
 * Call `fn` every `interval` ms, counted from when the last call settled (so calls never overlap), until
 * `until(result)` is true. The first call waits too: callers poll for changes to what they have just loaded.
 * A rejection of `fn` ends the polling with that rejection.
 */
export async function poll(fn, { interval, until = () => false }) {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, interval));
    if (until(await fn())) return;
  }
}

/** Every item of a paginated list, following its `next` pages. */
export async function loadAll(url) {
  const items = [];
  let next = url;
  while (next) {
    const page = await api(next);
    items.push(...page.results);
    next = page.next;
  }
  return items;
}

/** Every person (of `library`, when given): the pickers offer them all. */
export function loadPeople(library = null) {
  // Hidden people too: hiding tidies the People page and the suggestions, it does not stop anyone naming them.
  const params = new URLSearchParams({ hidden: "all", page_size: 500 });
  if (library) params.set("library", library);
  return loadAll(`/api/people/?${params}`);
}

/**
 * Enrol faces as the picked person, creating the person first when the pick is a new name: in `library`, the faces'
 * (a person names faces of their own library only). `suggested`: they were a suggested group (the person's history
 * says so). Returns the person.
 */
export async function assignFaces(faceIds, pick, library, { suggested = false } = {}) {
  let personId = pick.personId;
  if (pick.newName) {
    const person = await api("/api/people/", { method: "POST", json: { name: pick.newName, library } });
    personId = person.id;
  }
  const json = suggested ? { face_ids: faceIds, suggested } : { face_ids: faceIds };
  const result = await api(`/api/people/${personId}/faces/`, { method: "POST", json });
  return result.person;
}
