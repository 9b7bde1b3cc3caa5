// The console's session and its typed clients of Silo's API (generated
// from the OpenAPI document: src/schema.d.ts, `npm run schema`).
//
// The access token lives in memory only. The refresh token is kept in
// sessionStorage so that a reload of the tab keeps the user logged in; it
// rotates on every refresh and logout revokes it (docs/SECURITY.md says
// why it lives there).
import createClient, { type Client } from "openapi-fetch";
import type { paths } from "./schema";

export type Plane = "central" | "tenant";

export interface Session {
  plane: Plane;
  tenant: string; // the tenant's slug ("" on the central plane)
  access: string;
  refresh: string;
  email: string;
  /** the central admin acting as this tenant user (impersonation) */
  actingAs: string;
}

const stored = "silo.console.session";
let current: Session | null = null;
let onEnded: (message: string) => void = () => {};

export const client: Client<paths> = createClient<paths>({ baseUrl: "" });

client.use({
  onRequest({ request }) {
    if (current?.access && !request.headers.has("Authorization")) {
      request.headers.set("Authorization", `Bearer ${current.access}`);
    }
    if (current?.plane === "tenant" && current.tenant && !request.headers.has("x-tenant-id")) {
      request.headers.set("x-tenant-id", current.tenant);
    }
    return request;
  },
});

/** session is the logged-in session, or null. */
export function session(): Session | null {
  return current;
}

/** whenSessionEnds sets what happens when the session cannot go on. */
export function whenSessionEnds(f: (message: string) => void): void {
  onEnded = f;
}

/** begin starts a session from a login (or impersonation) answer. */
export function begin(s: Session): void {
  current = s;
  // Impersonation tokens cannot be refreshed: nothing to keep.
  if (s.refresh) {
    sessionStorage.setItem(stored, JSON.stringify({ ...s, access: "" }));
  } else {
    sessionStorage.removeItem(stored);
  }
}

/** end forgets the session (after revoking its refresh token). */
export async function end(message = ""): Promise<void> {
  const s = current;
  current = null;
  sessionStorage.removeItem(stored);
  if (s?.refresh) {
    const body = { refresh_token: s.refresh };
    if (s.plane === "central") await client.POST("/api/central/auth/logout", { body });
    else await client.POST("/api/auth/logout", { body, params: { header: { "x-tenant-id": s.tenant } } });
  }
  if (message) onEnded(message);
}

let refreshing: Promise<boolean> | null = null;

/** refresh rotates the refresh token for a new access token (one at a time). */
export function refresh(): Promise<boolean> {
  refreshing ??= doRefresh().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function doRefresh(): Promise<boolean> {
  const s = current ?? restore();
  if (!s?.refresh) return false;
  const body = { refresh_token: s.refresh };
  const res = s.plane === "central"
    ? await client.POST("/api/central/auth/refresh", { body })
    : await client.POST("/api/auth/refresh", { body, params: { header: { "x-tenant-id": s.tenant } } });
  if (!res.data) return false;
  begin({ ...s, access: res.data.access_token, refresh: res.data.refresh_token });
  return true;
}

function restore(): Session | null {
  try {
    const raw = sessionStorage.getItem(stored);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

/** resume restores a session kept across a reload, if its refresh works. */
export async function resume(): Promise<boolean> {
  return current !== null || (await refresh());
}

/** Answer is what openapi-fetch returns. */
interface Answer<T> { data?: T; error?: unknown; response: Response }

/**
 * call runs a request; on 401 it refreshes once and runs it again, and if
 * the session cannot go on it ends it (the console shows the login page).
 */
export async function call<T>(run: () => Promise<Answer<T>>): Promise<Answer<T>> {
  let res = await run();
  if (res.response.status === 401 && current) {
    if (await refresh()) {
      res = await run();
    }
    if (res.response.status === 401) {
      await end("Your session has ended. Log in again.");
    }
  }
  return res;
}

/** ErrorBody is Silo's error envelope. */
export interface ErrorBody { error: { code: string; message: string; requestId: string; details?: { field: string; message: string }[] } }

/** problem says in plain words what went wrong with an answer. */
export function problem(res: { error?: unknown; response: Response }): string {
  const e = res.error as Partial<ErrorBody> | undefined;
  const err = e?.error;
  if (!err) return `The server answered ${res.response.status}.`;
  const details = err.details?.map((d) => `${d.field} ${d.message}`).join("; ");
  const retry = res.response.headers.get("Retry-After");
  return [err.message, details, retry ? `Try again in ${retry} seconds.` : ""].filter(Boolean).join(". ").replace(/\.\./g, ".");
}
