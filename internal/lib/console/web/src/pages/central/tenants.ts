// The tenant list: search by slug or name, filter by status, a page at a
// time (the API's nextCursor), each tenant's status kept live.
import { call, client, type Schemas } from "../../api";
import { subscribe } from "../../live";
import { link, navigate, onLeave, register } from "../../router";
import { badge, field, formValues, h, pager, replace, select, table, when } from "../../ui";
import { cannotLoad, serverLink, tenantLink, tenantsPath, withQuery } from "./common";

type Status = Schemas["Tenant"]["status"];
const statuses: Status[] = ["provisioning", "active", "suspended", "failed", "deleted"];

function listTenants(query: { q?: string; status?: Status; cursor?: string; limit?: number }) {
  return call(() => client.GET("/api/central/tenants", { params: { query } }));
}

register({
  path: tenantsPath,
  plane: "central",
  nav: "Tenants",
  async render(main, _params, query) {
    const q = query.get("q") ?? "";
    const wanted = query.get("status") ?? "";
    const status = statuses.find((s) => s === wanted);
    const cursor = query.get("cursor") ?? "";
    const res = await listTenants({ q: q || undefined, status, cursor: cursor || undefined, limit: 50 });
    if (!res.data) return cannotLoad(main, "Tenants", res);
    const filter = h("form", { class: "row filters", role: "search" },
      field("Search", h("input", { name: "q", type: "search", value: q, placeholder: "slug or name" })),
      field("Status", select("status", [["", "Any status"], ...statuses.map((s): [string, string] => [s, s])], status ?? "")),
      h("button", { type: "submit" }, "Search"));
    filter.addEventListener("submit", (e) => {
      e.preventDefault();
      const v = formValues(filter);
      navigate(withQuery(tenantsPath, { q: (v["q"] ?? "").trim(), status: v["status"] ?? "" }));
    });
    const cells = new Map<string, HTMLElement>();
    const rows = res.data.tenants.map((t) => {
      const cell = h("span", {}, badge(t.status));
      cells.set(t.slug, cell);
      return [tenantLink(t.slug), t.name, cell, serverLink(t.server), t.schemaVersion, when(t.createdAt)];
    });
    replace(main,
      h("h1", {}, "Tenants"),
      h("p", { class: "row" }, link("/central/new-tenant", "Create tenant")),
      filter,
      rows.length
        ? table("Tenants", ["Slug", "Name", "Status", "Server", "Schema", "Created"], rows)
        : h("p", {}, q || status ? "No tenant matches." : "No tenant yet."),
      cursor ? h("p", {}, link(withQuery(tenantsPath, { q, status: status ?? "" }), "First page")) : null,
      pager(res.data.nextCursor, (next) => navigate(withQuery(tenantsPath, { q, status: status ?? "", cursor: next }))));
    onLeave(subscribe("central", (e) => {
      const cell = e.tenant ? cells.get(e.tenant) : undefined;
      if (cell && typeof e.status === "string") replace(cell, badge(e.status));
    }));
  },
});
