// Client-side routes under /console/. Each route renders into the page's
// main element; plane says which session it needs.
import type { Plane } from "./api";

export interface Route {
  /** the path under /console, with :params (e.g. "/tenants/:slug") */
  path: string;
  /** the session it needs ("public": none) */
  plane: Plane | "public";
  /** the navigation label, for routes listed in the header */
  nav?: string;
  /** only superadmins see it in the navigation */
  superadmin?: boolean;
  /** only tenant users holding this permission see it in the navigation */
  permission?: string;
  render(main: HTMLElement, params: Record<string, string>, query: URLSearchParams): void | Promise<void>;
}

export const base = "/console";
const table: Route[] = [];

export function register(...routes: Route[]): void {
  table.push(...routes);
}

export function routes(): readonly Route[] {
  return table;
}

/** match finds the route of a path under /console. */
export function match(path: string): { route: Route; params: Record<string, string> } | null {
  const parts = (path.split("?")[0] ?? "").split("/").filter(Boolean);
  for (const route of table) {
    const want = route.path.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = want.every((w, i) => {
      const got = parts[i] ?? "";
      if (w.startsWith(":")) {
        params[w.slice(1)] = decodeURIComponent(got);
        return true;
      }
      return w === got;
    });
    if (ok) return { route, params };
  }
  return null;
}

let go: (path: string) => void = () => {};
let leaving: (() => void)[] = [];

/**
 * onLeave runs f when the page that is showing is left (the next
 * navigation): pages stop what they started, such as live subscriptions.
 */
export function onLeave(f: () => void): void {
  leaving.push(f);
}

/** leave runs the showing page's onLeave functions (main.ts calls it). */
export function leave(): void {
  const fs = leaving;
  leaving = [];
  for (const f of fs) {
    try {
      f();
    } catch {
      // A failing clean-up must not stop the next page.
    }
  }
}

export function onNavigate(f: (path: string) => void): void {
  go = f;
}

/**
 * navigate shows path (under /console, with an optional query); replace
 * replaces the history entry instead of adding one.
 */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, "", base + path);
  else history.pushState(null, "", base + path);
  go(path.split("?")[0] ?? path);
}

/** link is an anchor that navigates without reloading. */
export function link(path: string, text: string): HTMLAnchorElement {
  const a = document.createElement("a");
  a.href = base + path;
  a.textContent = text;
  a.addEventListener("click", (e) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(path);
  });
  return a;
}
