// The fleet's schema state: every migration set's totals, by server, the
// tenants whose last migration failed (with the error) and those behind.
import { call, client, type Schemas } from "../../api";
import { subscribe, type LiveEvent } from "../../live";
import { onLeave, register } from "../../router";
import { button, h, replace, table } from "../../ui";
import { cannotLoad, serverLink, tenantLink } from "./common";

type Tenant = Schemas["TenantSchemaState"];

register({
  path: "/central/migrations",
  plane: "central",
  nav: "Migrations",
  async render(main) {
    const res = await call(() => client.GET("/api/central/migrations/status"));
    if (!res.data) return cannotLoad(main, "Migrations", res);
    const f = res.data;
    const failed = f.tenants.flatMap((t) => t.sets.filter((s) => s.lastError).map((s) => ({ t, s })));
    const behind = f.tenants.flatMap((t) => t.sets.filter((s) => s.pending > 0 && !s.lastError).map((s) => ({ t, s })));
    const all: HTMLElement = h("div", {});
    all.append(button(`Show all ${f.tenants.length} tenants`, () => replace(all, everyTenant(f)), "secondary"));
    const live = h("p", { role: "status", class: "live" });
    onLeave(subscribe("central", (e) => showRun(live, e)));
    replace(main,
      h("h1", {}, "Migrations"),
      live,
      h("p", {}, `${f.totals.tenants} tenants: ${f.totals.upToDate} up to date, ${f.totals.behind} behind, ${f.totals.failed} failed ` +
        `(Silo's own set, latest version ${f.latestVersion}).`),
      h("section", { "aria-labelledby": "sets-h" }, h("h2", { id: "sets-h" }, "By migration set"),
        table("Migration sets", ["Set", "Latest version", "Tenants", "Up to date", "Behind", "Failed"], f.sets.map((s) => {
          const t = f.setTotals[s.name];
          return [s.name, s.latestVersion, t?.tenants ?? 0, t?.upToDate ?? 0, t?.behind ?? 0, t?.failed ?? 0];
        }))),
      h("section", { "aria-labelledby": "servers-h" }, h("h2", { id: "servers-h" }, "By database server"),
        table("Silo's own set by database server", ["Server", "Tenants", "Up to date", "Behind", "Failed"],
          Object.entries(f.serverTotals).sort(([a], [b]) => a.localeCompare(b))
            .map(([name, t]) => [serverLink(name), t.tenants, t.upToDate, t.behind, t.failed]))),
      h("section", { "aria-labelledby": "failed-h" }, h("h2", { id: "failed-h" }, "Failed tenants"),
        failed.length ? table("Tenants whose last migration failed", ["Tenant", "Set", "Version", "Latest", "Error"],
          failed.map(({ t, s }) => [tenantLink(t.slug), s.set, s.schemaVersion, s.latestVersion, h("span", { class: "error-text" }, s.lastError ?? "")]))
          : h("p", {}, "None.")),
      h("section", { "aria-labelledby": "behind-h" }, h("h2", { id: "behind-h" }, "Tenants behind"),
        behind.length ? table("Tenants with migrations to apply", ["Tenant", "Status", "Set", "Version", "Latest", "Pending"],
          behind.map(({ t, s }) => [tenantLink(t.slug), t.status, s.set, s.schemaVersion, s.latestVersion, s.pending]))
          : h("p", {}, "None.")),
      h("section", { "aria-labelledby": "all-h" }, h("h2", { id: "all-h" }, "Every tenant"), all));
  },
});

function everyTenant(f: Schemas["FleetStatus"]): HTMLElement {
  const sets = f.sets.map((s) => s.name);
  return table("Every tenant's schema version", ["Tenant", "Status", "Server", ...sets],
    f.tenants.map((t: Tenant) => [tenantLink(t.slug), t.status, serverLink(t.server),
      ...sets.map((name) => {
        const s = t.sets.find((x) => x.set === name);
        return s ? `${s.schemaVersion} of ${s.latestVersion}` : "—";
      })]));
}

/** showRun says how a fleet run that is under way, or has just ended, is doing. */
function showRun(out: HTMLElement, e: LiveEvent): void {
  if (e.type !== "migration.progress") return;
  const n = (k: string) => (typeof e[k] === "number" ? e[k] : 0);
  const run = typeof e["run"] === "string" ? e["run"].slice(0, 8) : "";
  const state = e["state"] === "finished" ? "finished" : "running";
  const dry = e["dryRun"] === true ? " (dry run)" : "";
  replace(out, `Fleet run ${run}${dry}: ${state}, ${n("done")} of ${n("total")} tenants done, ${n("failed")} failed.`);
}
