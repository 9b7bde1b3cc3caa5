// The server's event streams, opened while a page listens (live.ts): a
// single-use ticket (EventSource cannot send the Authorization header),
// then an EventSource whose events are published to the pages. A dropped
// stream reopens with a new ticket and the last event's id, so nothing is
// missed; an expired token is refreshed first; a revoked one stops it.
import { call, client, refresh, session, type Plane } from "./api";
import { publish, subscribed, whenSubscribed } from "./live";

const types = ["tenant.status", "migration.progress", "audit"];
const open: Partial<Record<Plane, EventSource>> = {};
const lastID: Partial<Record<Plane, string>> = {};
const opening: Partial<Record<Plane, boolean>> = {};

async function ticket(plane: Plane): Promise<string> {
  const res = plane === "central"
    ? await call(() => client.POST("/api/central/events/ticket"))
    : await call(() => client.POST("/api/events/ticket"));
  return res.data?.ticket ?? "";
}

/** start opens plane's stream unless it is open (or the session is of the other plane). */
async function start(plane: Plane): Promise<void> {
  if (open[plane] || opening[plane] || session()?.plane !== plane) return;
  opening[plane] = true;
  try {
    const t = await ticket(plane);
    if (!t || session()?.plane !== plane) return; // e.g. a tenant user without audit:read: no live updates
    const path = plane === "central" ? "/api/central/events" : "/api/events";
    const last = lastID[plane] ? `&lastEventId=${encodeURIComponent(lastID[plane] ?? "")}` : "";
    const es = new EventSource(`${path}?ticket=${encodeURIComponent(t)}${last}`);
    open[plane] = es;
    for (const type of types) es.addEventListener(type, (m) => deliver(plane, type, m));
    es.addEventListener("end", (m) => void ended(plane, es, m));
    es.addEventListener("error", () => void reopen(plane, es));
  } finally {
    opening[plane] = false;
  }
}

function deliver(plane: Plane, type: string, m: MessageEvent): void {
  if (m.lastEventId) lastID[plane] = m.lastEventId;
  try {
    const e = JSON.parse(String(m.data)) as { tenant?: string; data?: Record<string, unknown> };
    publish(plane, { ...(e.data ?? {}), type, tenant: e.tenant ?? (typeof e.data?.["slug"] === "string" ? e.data["slug"] : undefined) });
  } catch {
    // A malformed event is skipped; the next one carries on.
  }
}

function close(plane: Plane, es: EventSource): void {
  es.close();
  if (open[plane] === es) delete open[plane];
}

/** ended handles the server's end of a stream: expired → refresh and reopen; otherwise stop. */
async function ended(plane: Plane, es: EventSource, m: MessageEvent): Promise<void> {
  close(plane, es);
  let reason = "";
  try {
    reason = String((JSON.parse(String(m.data)) as { data?: { reason?: string } }).data?.reason ?? "");
  } catch {
    reason = "";
  }
  if (reason === "expired" && (await refresh())) await reopen(plane, null);
  else if (reason === "shutdown") await reopen(plane, null);
}

/** reopen starts plane's stream again after a pause, while a page still listens. */
async function reopen(plane: Plane, es: EventSource | null): Promise<void> {
  if (es) close(plane, es);
  await new Promise((r) => setTimeout(r, 2000));
  if (subscribed(plane)) await start(plane);
}

whenSubscribed((plane) => void start(plane));
