// The console's session and its typed clients of Silo's API (generated
// from the OpenAPI document: src/schema.d.ts, `npm run schema`).
//
// The access token lives in memory only. The refresh token is kept in
// sessionStorage so that a reload of the tab keeps the user logged in; it
// rotates on every refresh and logout revokes it (docs/SECURITY.md, "The
// admin console in the browser", says why it lives there). Impersonation
// tokens cannot be refreshed and are never stored.
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Plane = "central" | "tenant";
export type Schemas = components["schemas"];

export interface Session {
  plane: Plane;
  tenant: string; // the tenant's slug ("" on the central plane)
  access: string;
  refresh: string;
  email: string;
  /** the central admin acting as this tenant user (impersonation) */
  actingAs: string;
  /** a central admin's role: "superadmin" or "admin" */
  role?: string;
  /** a tenant user's permissions at login (the server checks them on every call) */
  permissions?: string[];
}

const stored = "silo.console.session";
let current: Session | null = null;
/** the central session an impersonation interrupted, resumed by stopActing */
let interrupted: Session | null = null;
let onEnded: (message: string) => void = () => {};

/**
 * client calls the API as the session: it adds the access token and, on
 * the tenant plane, the tenant's x-tenant-id. Pages call it through call().
 */
export const client: Client<paths> = createClient<paths>({ baseUrl: "" });

/**
 * anonymous calls the API with no session attached: logins, refreshes,
 * sign-up, invitations and the tenant's branding, which must not carry
 * another session's token or tenant.
 */
export const anonymous: Client<paths> = createClient<paths>({ baseUrl: "" });

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

/**
 * begin starts a session from a login (or impersonation) answer. An
 * impersonation (actingAs set) started from a central session keeps that
 * session aside: stopActing returns to it.
 */
export function begin(s: Session): void {
  if (s.actingAs && current?.plane === "central") {
    interrupted = current;
  } else if (!s.actingAs) {
    interrupted = null;
  }
  current = s;
  if (s.refresh) {
    sessionStorage.setItem(stored, JSON.stringify({ ...s, access: "" }));
  } else if (!interrupted) {
    sessionStorage.removeItem(stored);
  }
}

/** acting is the central session an impersonation interrupted, if any. */
export function acting(): Session | null {
  return interrupted;
}

/**
 * stopActing ends an impersonation and returns to the central session it
 * interrupted; false when there is none to return to.
 */
export function stopActing(): boolean {
  if (!current?.actingAs || !interrupted) return false;
  current = interrupted;
  interrupted = null;
  return true;
}

/** end forgets the session (after revoking its refresh tokens). */
export async function end(message = ""): Promise<void> {
  const gone = [current, interrupted];
  current = null;
  interrupted = null;
  sessionStorage.removeItem(stored);
  for (const s of gone) {
    if (!s?.refresh) continue;
    const body = { refresh_token: s.refresh };
    try {
      if (s.plane === "central") await anonymous.POST("/api/central/auth/logout", { body });
      else await anonymous.POST("/api/auth/logout", { body, params: { header: { "x-tenant-id": s.tenant } } });
    } catch {
      // Offline: the token is forgotten here and expires there.
    }
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
  try {
    const res = s.plane === "central"
      ? await anonymous.POST("/api/central/auth/refresh", { body })
      : await anonymous.POST("/api/auth/refresh", { body, params: { header: { "x-tenant-id": s.tenant } } });
    if (!res.data) return false;
    const role = "role" in res.data.user ? res.data.user.role : s.role;
    const permissions = "permissions" in res.data.user ? res.data.user.permissions : s.permissions;
    begin({ ...s, access: res.data.access_token, refresh: res.data.refresh_token, role, permissions });
    return true;
  } catch {
    return false;
  }
}

function restore(): Session | null {
  try {
    const raw = sessionStorage.getItem(stored);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

/**
 * resume restores a session kept across a reload, if its refresh works;
 * one that does not is forgotten, and resume says so with a message.
 */
export async function resume(): Promise<{ ok: boolean; message: string }> {
  if (current) return { ok: true, message: "" };
  const kept = restore() !== null;
  if (await refresh()) return { ok: true, message: "" };
  sessionStorage.removeItem(stored);
  return { ok: false, message: kept ? "Your session has ended. Log in again." : "" };
}

/** Answer is what openapi-fetch returns. */
export interface Answer<T> { data?: T; error?: unknown; response: Response }

/**
 * call runs a request as the session; on 401 it refreshes once and runs
 * it again. If the session cannot go on it ends it: the console shows the
 * login page with a message (an impersonation returns to the central
 * session it interrupted instead).
 */
export async function call<T>(run: () => Promise<Answer<T>>): Promise<Answer<T>> {
  let res = await run();
  if (res.response.status !== 401 || !current) return res;
  if (current.actingAs) {
    if (stopActing()) onEnded("The impersonation ended: its token expired or was refused.");
    else await end("The impersonation ended. Log in again.");
    return res;
  }
  if (await refresh()) res = await run();
  if (res.response.status === 401) await end("Your session has ended. Log in again.");
  return res;
}

/** ErrorBody is Silo's error envelope. */
export interface ErrorBody { error: { code: string; message: string; requestId: string; details?: { field: string; message: string }[] } }

/** errorCode is the error envelope's code of an answer ("" when none). */
export function errorCode(res: { error?: unknown }): string {
  return (res.error as Partial<ErrorBody> | undefined)?.error?.code ?? "";
}

/** plainWords say what the codes a person meets most often mean. */
const plainWords: Record<string, string> = {
  TENANT_ID_REQUIRED: "Tenant ID is required",
  TENANT_NOT_FOUND: "No tenant has this ID (or it was deleted)",
  TENANT_SUSPENDED: "This tenant is suspended: its users cannot log in until it is resumed",
  TENANT_UNAVAILABLE: "This tenant is not available yet. Try again in a moment",
  TOKEN_EXPIRED: "Your session has expired. Log in again",
  RATE_LIMITED: "Too many attempts",
  DATABASE_UNAVAILABLE: "The database does not answer. Try again in a moment",
};

/** waitWords is a Retry-After value in words. */
export function waitWords(seconds: number): string {
  if (seconds >= 90) {
    const minutes = Math.ceil(seconds / 60);
    return `${minutes} minutes`;
  }
  return seconds === 1 ? "1 second" : `${seconds} seconds`;
}

/** fieldWords is a field's name as words: "admin.firstName" → "Admin first name", "logoUrl" → "Logo URL". */
export function fieldWords(name: string): string {
  const w = name.replace(/[._]/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase()
    .replace(/\b(url|id)\b/g, (x) => x.toUpperCase());
  return w.charAt(0).toUpperCase() + w.slice(1);
}

/** problem says in plain words what went wrong with an answer. */
export function problem(res: { error?: unknown; response: Response }): string {
  const err = (res.error as Partial<ErrorBody> | undefined)?.error;
  if (!err) return `The server answered ${res.response.status} ${res.response.statusText}.`.replace(" .", ".");
  const parts = [plainWords[err.code] ?? err.message];
  if (err.details?.length) parts.push(err.details.map((d) => `${fieldWords(d.field)} ${d.message}`).join("; "));
  const retry = Number(res.response.headers.get("Retry-After"));
  if (retry > 0) parts.push(`Try again in ${waitWords(retry)}`);
  return parts.map((p) => p.replace(/[.\s]+$/, "")).join(". ") + ".";
}

/** unreachable is what a failed fetch (no answer at all) means. */
export const unreachable = "Silo could not be reached. Check your connection and try again.";
