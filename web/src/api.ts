// SPDX-License-Identifier: Apache-2.0
//
// The UI's only way to the server: JSON requests to `shype web`'s routes (/api/v1/... forwarded
// to shyped, /web/...). Every non-GET request carries the session's anti-CSRF token.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: Promise<string> | null = null;

function csrf(): Promise<string> {
  if (!csrfToken) {
    csrfToken = request<{ csrf: string }>("GET", "/web/session").then((s) => s.csrf);
    csrfToken.catch(() => (csrfToken = null));
  }
  return csrfToken;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-Shype-CSRF"] = await csrf();
    headers["Content-Type"] = "application/json";
  }
  const reply = await fetch(path, {
    method,
    headers,
    body: method === "GET" ? undefined : JSON.stringify(body ?? {}),
    credentials: "same-origin",
  });
  const text = await reply.text();
  let json: unknown = {};
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiError(reply.status, "bad_reply", `${method} ${path}: ${reply.status} ${text}`);
  }
  if (!reply.ok) {
    const err = (json as { error?: { code?: string; message?: string } }).error ?? {};
    throw new ApiError(reply.status, err.code ?? "error", err.message ?? `HTTP ${reply.status}`);
  }
  return json as T;
}

export const get = <T>(path: string) => request<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => request<T>("POST", path, body);
export const put = <T>(path: string, body?: unknown) => request<T>("PUT", path, body);

/** Returns the message of an error thrown by a request (or anything else). */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
