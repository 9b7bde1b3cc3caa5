// What the central console's pages share: links to a tenant and a
// server, the superadmin check, a page that could not load.
import { problem, session } from "../../api";
import { link } from "../../router";
import { alert, h, replace } from "../../ui";

export const tenantsPath = "/central/tenants";
export const serversPath = "/central/servers";

/** tenantLink links to a tenant's page. */
export function tenantLink(slug: string, text = slug): HTMLAnchorElement {
  return link(`${tenantsPath}/${encodeURIComponent(slug)}`, text);
}

/** serverLink links to a database server's page ("—" for none). */
export function serverLink(name: string): HTMLAnchorElement | string {
  return name ? link(`${serversPath}/${encodeURIComponent(name)}`, name) : "—";
}

/** isSuperadmin says whether the session's admin is a superadmin (the server checks it anyway). */
export function isSuperadmin(): boolean {
  return session()?.role === "superadmin";
}

/** cannotLoad shows a page's title and why it could not load. */
export function cannotLoad(main: HTMLElement, title: string, res: { error?: unknown; response: Response }): void {
  replace(main, h("h1", {}, title), alert(problem(res)));
}

/** withQuery is path with the non-empty values of query. */
export function withQuery(path: string, query: Record<string, string>): string {
  const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== ""));
  return q.size ? `${path}?${q}` : path;
}
