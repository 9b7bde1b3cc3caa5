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
  /** tenant routes: only users holding this permission see it in the navigation */
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

export function onNavigate(f: (path: string) => void): void {
  go = f;
}

/** navigate shows path (under /console, with an optional query). */
export function navigate(path: string): void {
  history.pushState(null, "", base + path);
  go(path);
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
