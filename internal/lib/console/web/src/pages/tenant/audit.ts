// Audit log: the tenant's audit log, newest first, a page at a time, with a
// filter by action over the page shown.
import { call, client } from "../../api";
import { newAuditEntries } from "../../live";
import { onLeave } from "../../router";
import type { components } from "../../schema";
import { field, h, replace } from "../../ui";
import { emptyRow, failed, pager, say, table, uid, when } from "../../widgets";
import type { TenantPage } from "./index";

type Entry = components["schemas"]["TenantAuditEntry"];

export const auditPage: TenantPage = {
  path: "/tenant/audit",
  nav: "Audit log",
  permission: "audit:read",
  async render(main) {
    const messages = h("div", {});
    const body = h("tbody", {});
    const actions = h("datalist", { id: uid("actions") });
    const filter = h("input", { type: "search", name: "action", autocomplete: "off", list: actions.id, placeholder: "user.create" });
    let entries: Entry[] = [];
    let newest = true; // the first page is showing: new entries join it as they are written
    const show = (): void => {
      const want = filter.value.trim().toLowerCase();
      const rows = entries.filter((e) => e.action.toLowerCase().includes(want));
      replace(body, rows.length ? rows.map(entryRow) : emptyRow(5, want ? "No entry on this page has this action." : "No entries."));
    };
    const list = pager(async (cursor) => {
      newest = cursor === undefined;
      const res = await call(() => client.GET("/api/audit", { params: { query: { cursor } } }));
      if (!res.data) {
        say(messages, failed("Could not load the audit log.", res));
        entries = [];
        replace(body);
        return null;
      }
      replace(messages);
      entries = res.data.entries;
      replace(actions, [...new Set(entries.map((e) => e.action))].sort().map((a) => h("option", { value: a })));
      show();
      return res.data.nextCursor;
    });
    filter.addEventListener("input", show);
    onLeave(newAuditEntries<Entry>("tenant", (e) => {
      if (!newest || entries.some((x) => x.id === e.id)) return;
      entries.unshift(e);
      show();
    }));
    replace(main, h("h1", {}, "Audit log"),
      h("div", { class: "row" }, field("Filter by action", filter), actions),
      h("p", { class: "muted" }, "The filter applies to the page shown."), messages,
      table("Audit log entries", ["Time", "Actor", "Action", "Target", "Detail"], body), list.element);
    await list.reset();
  },
};

function actor(e: Entry): string {
  const who = e.actor.email || e.actor.id || "";
  const kind = e.actor.kind.replace("_", " ");
  return `${kind}${who ? ` ${who}` : ""}${e.actingAs ? `, acting as user ${e.actingAs}` : ""}`;
}

function entryRow(e: Entry): HTMLTableRowElement {
  return h("tr", {}, h("td", {}, when(e.at)), h("td", {}, actor(e)), h("td", {}, h("code", {}, e.action)),
    h("td", {}, `${e.target.type} ${e.target.id}`.trim()), h("td", {}, e.detail ?? ""));
}
