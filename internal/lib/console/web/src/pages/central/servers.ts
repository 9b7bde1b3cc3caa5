// The database servers that hold tenant databases; superadmins register
// more (the DSN of an admin account, checked and stored sealed).
import { call, client, problem, type Schemas } from "../../api";
import { navigate, register } from "../../router";
import { alert, badge, busy, field, formValues, h, replace, table, when } from "../../ui";
import { cannotLoad, isSuperadmin, serverLink, serversPath } from "./common";

register({
  path: serversPath,
  plane: "central",
  nav: "Servers",
  async render(main) {
    const res = await call(() => client.GET("/api/central/servers"));
    if (!res.data) return cannotLoad(main, "Database servers", res);
    const servers = res.data.servers;
    replace(main,
      h("h1", {}, "Database servers"),
      servers.length
        ? table("Database servers", ["Server", "Host", "Status", "Tenants", "Capacity", "Spares", "Version", "Checked", "Last error"],
          servers.map((s) => [serverLink(s.name), s.host, badge(s.status), s.tenants, s.capacity, s.spares, s.version,
            when(s.checkedAt), s.lastError ?? ""]))
        : h("p", {}, "No database server is registered."),
      isSuperadmin() ? addForm() : null);
  },
});

/** labelsOf reads "key=value, key=value" ("" is none); null when a pair has no "=". */
export function labelsOf(text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const pair of text.split(/[\s,]+/).filter(Boolean)) {
    const [k, ...v] = pair.split("=");
    if (!k || !v.length) return null;
    out[k] = v.join("=");
  }
  return out;
}

/** labelsText is labels as "key=value, key=value". */
export function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(", ");
}

/** numberOf is a typed number, or undefined when the field is empty. */
export function numberOf(text: string | undefined): number | undefined {
  const t = (text ?? "").trim();
  return t === "" ? undefined : Number(t);
}

function addForm(): HTMLElement {
  const message = h("div", {});
  const form = h("form", { class: "card", novalidate: true },
    h("h2", {}, "Add server"),
    message,
    field("Name", h("input", { name: "name", required: true, autocomplete: "off" })),
    field("Admin DSN", h("input", { name: "dsn", type: "password", required: true, autocomplete: "off",
      placeholder: "user:password@tcp(host:3306)/", "aria-describedby": "dsn-rule" })),
    h("p", { class: "muted hint", id: "dsn-rule" }, "An account that may create databases and users; its password is stored sealed and never shown again."),
    field("Capacity", h("input", { name: "capacity", type: "number", min: 0, inputmode: "numeric" })),
    field("Connections max", h("input", { name: "connsMax", type: "number", min: 0, inputmode: "numeric" })),
    field("Spare pool", h("input", { name: "sparePool", type: "number", min: 0, inputmode: "numeric" })),
    field("Labels", h("input", { name: "labels", autocomplete: "off", placeholder: "region=eu, tier=gold" })),
    h("button", { type: "submit" }, "Add server"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(form, message, async () => {
      const v = formValues(form);
      const labels = labelsOf(v["labels"] ?? "");
      if (!labels) return replace(message, alert("Labels are key=value pairs, separated by commas."));
      const body: Schemas["AddServerRequest"] = { name: (v["name"] ?? "").trim(), dsn: (v["dsn"] ?? "").trim(), labels,
        capacity: numberOf(v["capacity"]), connsMax: numberOf(v["connsMax"]), sparePool: numberOf(v["sparePool"]) };
      const res = await call(() => client.POST("/api/central/servers", { body }));
      if (!res.data) return replace(message, alert(problem(res)));
      navigate(`${serversPath}/${encodeURIComponent(res.data.server.name)}`);
    });
  });
  return form;
}
