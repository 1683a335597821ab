import { currentToken } from "./session.ts";

// Every figure on screen comes from the public API through here, with the signed-in token as
// `Authorization: Bearer`. A refusal arrives as problem+json; its `detail` is what the user sees.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

type Query = Record<string, string | number | boolean | null | undefined>;

export interface CallOptions {
  method?: "GET" | "POST" | "DELETE";
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** another token than the signed-in one (sign-in itself) */
  token?: string;
}

/** path with its query; undefined, null and "" values are left out */
export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** one path segment, URL-encoded */
export const seg = encodeURIComponent;

let onUnauthorized: (error: ApiError) => void = () => {};
/** called when the API refuses the signed-in token itself (revoked key, changed admin token) */
export const whenUnauthorized = (handler: (error: ApiError) => void) => void (onUnauthorized = handler);

async function problemOf(res: Response): Promise<ApiError> {
  try {
    const p = (await res.json()) as { code?: string; detail?: string; title?: string };
    return new ApiError(res.status, p.code ?? "HTTP", p.detail ?? p.title ?? res.statusText);
  } catch {
    return new ApiError(res.status, "HTTP", `${res.status} ${res.statusText}`.trim());
  }
}

/** the raw response of a successful call (streams, headers); throws ApiError otherwise */
export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const token = options.token ?? currentToken();
  const headers: Record<string, string> = { accept: "application/json", ...options.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(withQuery(path, options.query), {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      credentials: "omit", // no cookies: the token in the header is the only credential
      cache: "no-store",
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new ApiError(0, "NETWORK", "The server did not answer. Is it running?");
  }
  if (res.ok) return res;
  const problem = await problemOf(res);
  if (res.status === 401 && options.token === undefined) onUnauthorized(problem);
  throw problem;
}

export async function api<T>(path: string, options: CallOptions = {}): Promise<T> {
  return (await (await call(path, options)).json()) as T;
}
