// The central console's first page: tenants by status, the database
// servers, the fleet's migration totals and, for superadmins, the latest
// central audit entries.
import { call, client, problem, type Schemas } from "../../api";
import { link, onLeave, register } from "../../router";
import { subscribe } from "../../live";
import { alert, badge, h, replace, table, when } from "../../ui";
import { cannotLoad, isSuperadmin, serverLink, tenantLink, tenantsPath, withQuery } from "./common";

const statuses = ["active", "provisioning", "suspended", "failed"] as const;

register({
  path: "/central",
  plane: "central",
  nav: "Overview",
  async render(main) {
    const [fleet, servers, audit] = await Promise.all([
      call(() => client.GET("/api/central/migrations/status")),
      call(() => client.GET("/api/central/servers")),
      isSuperadmin() ? call(() => client.GET("/api/central/audit", { params: { query: { limit: 10 } } })) : null,
    ]);
    if (!fleet.data) return cannotLoad(main, "Overview", fleet);
    const counts = h("div", {});
    showCounts(counts, fleet.data.tenants);
    replace(main, h("h1", {}, "Overview"),
      h("section", { "aria-labelledby": "tenants-h" }, h("h2", { id: "tenants-h" }, "Tenants"), counts),
      h("section", { "aria-labelledby": "servers-h" }, h("h2", { id: "servers-h" }, "Database servers"),
        servers.data ? serversTable(servers.data.servers) : alert(problem(servers))),
      h("section", { "aria-labelledby": "migrations-h" }, h("h2", { id: "migrations-h" }, "Migrations"),
        migrationTotals(fleet.data)),
      audit ? h("section", { "aria-labelledby": "audit-h" }, h("h2", { id: "audit-h" }, "Recent central activity"),
        audit.data ? recent(audit.data.entries) : alert(problem(audit))) : null);
    // Status changes, as the server reports them.
    const tenants = fleet.data.tenants;
    onLeave(subscribe("central", (e) => {
      const t = tenants.find((x) => x.slug === e.tenant);
      if (t && typeof e.status === "string") {
        t.status = e.status;
        showCounts(counts, tenants);
      }
    }));
  },
});

function showCounts(out: HTMLElement, tenants: Schemas["TenantSchemaState"][]): void {
  const by = new Map<string, number>();
  for (const t of tenants) by.set(t.status, (by.get(t.status) ?? 0) + 1);
  replace(out,
    h("p", {}, `${tenants.length} ${tenants.length === 1 ? "tenant" : "tenants"} (deleted ones aside).`),
    h("ul", { class: "counts" }, statuses.map((s) =>
      h("li", {}, link(withQuery(tenantsPath, { status: s }), `${by.get(s) ?? 0} ${s}`)))));
}

function serversTable(servers: Schemas["Server"][]): HTMLElement {
  if (!servers.length) return h("p", {}, "No database server is registered yet.");
  return table("Database servers", ["Server", "Status", "Tenants", "Capacity", "Spares"],
    servers.map((s) => [serverLink(s.name), badge(s.status), s.tenants, s.capacity, s.spares]));
}

function migrationTotals(f: Schemas["FleetStatus"]): HTMLElement {
  const rows = f.sets.map((set) => {
    const t = f.setTotals[set.name] ?? { tenants: 0, upToDate: 0, behind: 0, failed: 0 };
    return [set.name, set.latestVersion, t.upToDate, t.behind, t.failed];
  });
  return h("div", {},
    table("Migration sets", ["Set", "Latest version", "Up to date", "Behind", "Failed"], rows),
    h("p", {}, link("/central/migrations", "Migrations by tenant")));
}

function recent(entries: Schemas["AuditEntry"][]): HTMLElement {
  if (!entries.length) return h("p", {}, "Nothing yet.");
  return h("div", {},
    table("Recent central audit entries", ["When", "Who", "Action", "Target", "Outcome"], entries.map((e) => [
      when(e.at), e.actor.email ?? e.actor.kind, e.action,
      e.target.type === "tenant" && e.target.id ? tenantLink(e.target.id) : `${e.target.type} ${e.target.id}`, e.outcome])),
    h("p", {}, link("/central/audit", "The whole audit log")));
}
