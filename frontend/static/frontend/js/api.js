// The REST API under /api/, as the signed-in user: session cookie plus Django's CSRF token in X-CSRFToken.

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

export function csrfToken() {
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: a proxy's page, or a server crash
  }
  if (response.status === 401 || response.status === 403) {
    if (!body?.message || response.status === 401) {
      return new ApiError("Your session has ended. Sign in again.", response.status, body?.extra ?? {});
    }
  }
  const message = body?.message ?? `The server answered ${response.status} ${response.statusText}.`;
  return new ApiError(message, response.status, body?.extra ?? {});
}

/**
 * Call the API: `json` is sent as JSON, `form` (FormData) as multipart. Resolves to the parsed body (null for 204),
 * rejects with ApiError carrying the API's `message` and `extra`.
 */
export async function api(url, { method = "GET", json, form, signal } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(url, { method, headers, body, signal, credentials: "same-origin" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("The server cannot be reached. Check your connection and try again.", 0);
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  return response.json();
}

/** Every item of a paginated list, following `next`. */
export async function fetchAll(url) {
  const items = [];
  let next = url;
  while (next) {
    const page = await api(next);
    items.push(...page.results);
    next = page.next;
  }
  return items;
}

/**
 * POST multipart with upload progress (fetch cannot report it): `onProgress(loadedBytes, totalBytes)`.
 * Resolves to `{status, body}` for 2xx, rejects with ApiError otherwise.
 */
export function uploadWithProgress(url, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.responseType = "text";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // fall through with null
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve({ status: xhr.status, body });
      } else if (xhr.status === 413) {
        reject(new ApiError("The upload is too large for the server.", 413));
      } else if (xhr.status === 401 || xhr.status === 403) {
        reject(new ApiError(body?.message ?? "Your session has ended. Sign in again.", xhr.status, body?.extra ?? {}));
      } else {
        reject(new ApiError(body?.message ?? `The server answered ${xhr.status}.`, xhr.status, body?.extra ?? {}));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError("The upload failed: the server cannot be reached.", 0)));
    xhr.addEventListener("abort", () => reject(new ApiError("The upload was cancelled.", 0)));
    xhr.send(form);
  });
}
