// A database server: its figures, and for superadmins its settings
// (status, capacity, connections, spare pool, labels, a new DSN) and its
// removal once it holds no tenant.
import { call, client, problem, type Schemas } from "../../api";
import { flash } from "../../notice";
import { navigate, register } from "../../router";
import { alert, badge, busy, confirmTyped, definitions, field, formValues, h, replace, select, when } from "../../ui";
import { cannotLoad, isSuperadmin, serversPath } from "./common";
import { labelsOf, labelsText, numberOf } from "./servers";

type Server = Schemas["Server"];

register({
  path: `${serversPath}/:name`,
  plane: "central",
  async render(main, { name = "" }) {
    const res = await call(() => client.GET("/api/central/servers/{name}", { params: { path: { name } } }));
    if (!res.data) return cannotLoad(main, `Server ${name}`, res);
    show(main, res.data.server, "");
  },
});

function show(main: HTMLElement, s: Server, note: string): void {
  replace(main,
    h("h1", {}, `Server ${s.name}`),
    note ? alert(note, "info") : null,
    definitions([
      ["Host", s.host], ["Status", badge(s.status)], ["Version", s.version || "—"],
      ["Tenants", `${s.tenants} of ${s.capacity}`], ["Spare databases", `${s.spares} (pool ${s.sparePool ?? "default"})`],
      ["Connections max", String(s.connsMax)], ["Labels", labelsText(s.labels) || "none"],
      ["Checked", when(s.checkedAt)], ["Last error", s.lastError ?? "none"], ["Added", when(s.createdAt)],
    ]),
    isSuperadmin() ? editForm(main, s) : null,
    isSuperadmin() ? removeForm(s) : null);
}

function editForm(main: HTMLElement, s: Server): HTMLElement {
  const message = h("div", {});
  const form = h("form", { class: "card", novalidate: true },
    h("h2", {}, "Change"),
    message,
    field("Status", select("status", ["active", "draining", "disabled"], s.status)),
    field("Capacity", h("input", { name: "capacity", type: "number", min: 0, value: s.capacity })),
    field("Connections max", h("input", { name: "connsMax", type: "number", min: 0, value: s.connsMax })),
    field("Spare pool", h("input", { name: "sparePool", type: "number", min: 0, value: s.sparePool ?? "", placeholder: "default" })),
    field("Labels", h("input", { name: "labels", value: labelsText(s.labels) })),
    field("New admin DSN", h("input", { name: "dsn", type: "password", autocomplete: "off", placeholder: "unchanged" })),
    h("button", { type: "submit" }, "Save"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(form, message, async () => {
      const v = formValues(form);
      const labels = labelsOf(v["labels"] ?? "");
      if (!labels) return replace(message, alert("Labels are key=value pairs, separated by commas."));
      const body: Schemas["PatchServerRequest"] = { status: v["status"] as Schemas["PatchServerRequest"]["status"],
        capacity: numberOf(v["capacity"]), connsMax: numberOf(v["connsMax"]), sparePool: numberOf(v["sparePool"]) ?? null, labels };
      if ((v["dsn"] ?? "").trim()) body.dsn = (v["dsn"] ?? "").trim();
      const res = await call(() => client.PATCH("/api/central/servers/{name}", { params: { path: { name: s.name } }, body }));
      if (!res.data) return replace(message, alert(problem(res)));
      show(main, res.data.server, "Saved.");
    });
  });
  return form;
}

function removeForm(s: Server): HTMLElement {
  return confirmTyped({
    legend: `Remove ${s.name}`, expected: s.name, action: "Remove",
    extra: h("p", { class: "muted" }, "Only a server that holds no tenant database can be removed."),
    act: async (message) => {
      const res = await call(() => client.DELETE("/api/central/servers/{name}", { params: { path: { name: s.name } } }));
      if (res.response.status !== 204) return replace(message, alert(problem(res)));
      flash(`Server ${s.name} is removed.`);
      navigate(serversPath);
    },
  });
}
