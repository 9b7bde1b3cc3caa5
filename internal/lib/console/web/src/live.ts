// Live events: what changes on the server while a page is open (a
// tenant's status, say), delivered to the pages that subscribe.
//
// This is the console's one hook for them. Pages subscribe here and
// update what they show; whatever receives the server's events (a stream
// of the API) calls publish for each one. Until such a stream exists
// nothing is published, and the pages show what they fetched.
import type { Plane } from "./api";

/** LiveEvent is one change: its type (e.g. "tenant.status") and its fields. */
export interface LiveEvent {
  type: string;
  /** the tenant it concerns (its slug), when it concerns one */
  tenant?: string;
  /** a new status, for status changes */
  status?: string;
  [field: string]: unknown;
}

export type LiveHandler = (e: LiveEvent) => void;

const handlers: Record<Plane, Set<LiveHandler>> = { central: new Set(), tenant: new Set() };
const starters: ((plane: Plane) => void)[] = [];

/**
 * subscribe calls handler with every live event of plane until the
 * function it returns is called (pages call it on leaving: see
 * router.onLeave).
 */
export function subscribe(plane: Plane, handler: LiveHandler): () => void {
  handlers[plane].add(handler);
  for (const start of starters) start(plane);
  return () => {
    handlers[plane].delete(handler);
  };
}

/** publish delivers e to the plane's subscribers. */
export function publish(plane: Plane, e: LiveEvent): void {
  for (const f of [...handlers[plane]]) {
    try {
      f(e);
    } catch {
      // One page's failing handler must not stop the others.
    }
  }
}

/** subscribed reports whether any page listens to plane (a stream may stop when none does). */
export function subscribed(plane: Plane): boolean {
  return handlers[plane].size > 0;
}

/**
 * whenSubscribed registers start, called with the plane each time a page
 * subscribes: where a stream of the server's events opens (once, however
 * often it is called) and calls publish.
 */
export function whenSubscribed(start: (plane: Plane) => void): void {
  starters.push(start);
}

/** Audited is what every audit entry has, central or tenant. */
interface Audited {
  id: number;
  at: string;
  action: string;
  actor: { kind: string };
  target: { type: string; id: string };
}

/**
 * newAuditEntries calls add with each audit entry of T's shape that
 * plane's stream delivers (as GET …/audit shows it), until the function
 * it returns is called.
 */
export function newAuditEntries<T extends Audited>(plane: Plane, add: (e: LiveEvent & T) => void): () => void {
  return subscribe(plane, (e) => {
    if (isAudited<T>(e)) add(e);
  });
}

function isAudited<T extends Audited>(e: LiveEvent): e is LiveEvent & T {
  const actor = e["actor"];
  const target = e["target"];
  return e.type === "audit" && typeof e["id"] === "number" && typeof e["at"] === "string" && typeof e["action"] === "string" &&
    typeof actor === "object" && actor !== null && typeof target === "object" && target !== null;
}
