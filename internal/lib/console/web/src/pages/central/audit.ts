// The central audit log (superadmins), newest first, a page at a time;
// the filters narrow the page shown by action and by actor.
import { call, client, type Schemas } from "../../api";
import { newAuditEntries } from "../../live";
import { link, navigate, onLeave, register } from "../../router";
import { field, h, pager, replace, table, when } from "../../ui";
import { cannotLoad, tenantLink, withQuery } from "./common";

type Entry = Schemas["AuditEntry"];
const path = "/central/audit";

register({
  path,
  plane: "central",
  nav: "Audit log",
  superadmin: true,
  async render(main, _params, query) {
    const cursor = query.get("cursor") ?? "";
    const res = await call(() => client.GET("/api/central/audit", { params: { query: { limit: 100, cursor: cursor || undefined } } }));
    if (!res.data) return cannotLoad(main, "Central audit log", res);
    const entries = res.data.entries;
    const action = h("input", { name: "action", type: "search", value: query.get("action") ?? "", placeholder: "tenant." });
    const actor = h("input", { name: "actor", type: "search", value: query.get("actor") ?? "", placeholder: "email or id" });
    const shown = h("div", {});
    const filter = () => {
      const a = action.value.trim().toLowerCase();
      const who = actor.value.trim().toLowerCase();
      const rows = entries.filter((e) => e.action.toLowerCase().includes(a) && actorText(e).toLowerCase().includes(who));
      replace(shown, h("p", { class: "muted", role: "status" }, `${rows.length} of ${entries.length} entries on this page.`),
        rows.length ? table("Central audit entries", ["When", "Actor", "Action", "Target", "Outcome", "Client IP", "Detail"],
          rows.map((e) => [when(e.at), actorText(e), e.action, target(e), e.outcome, e.clientIp ?? "", e.detail ?? ""])) : null);
    };
    action.addEventListener("input", filter);
    actor.addEventListener("input", filter);
    filter();
    if (!cursor) { // the newest page shows new entries as they are written
      onLeave(newAuditEntries<Entry>("central", (e) => {
        if (entries.some((x) => x.id === e.id)) return;
        entries.unshift(e);
        filter();
      }));
    }
    replace(main,
      h("h1", {}, "Central audit log"),
      h("div", { class: "row filters", role: "search" }, field("Action", action), field("Actor", actor)),
      shown,
      cursor ? h("p", {}, link(path, "Newest entries")) : null,
      pager(res.data.nextCursor, (next) => navigate(withQuery(path, { cursor: next, action: action.value.trim(), actor: actor.value.trim() }))));
  },
});

function actorText(e: Entry): string {
  return e.actor.email || (e.actor.id ? `${e.actor.kind} ${e.actor.id}` : e.actor.kind);
}

function target(e: Entry): Node | string {
  if (e.target.type === "tenant" && e.target.id) return tenantLink(e.target.id);
  return e.target.id ? `${e.target.type} ${e.target.id}` : e.target.type;
}
