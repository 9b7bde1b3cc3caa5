// API keys: the tenant's keys, creating one (the key is shown once, to
// copy) and revoking one.
import { call, client } from "../../api";
import type { components } from "../../schema";
import { alert, field, h, replace } from "../../ui";
import {
  allPermissions, busy, checkboxes, checkedValues, confirmAction, copyBox, currentUser, emptyRow, failed, say, table, when,
} from "../../widgets";
import type { TenantPage } from "./index";

type APIKey = components["schemas"]["APIKey"];

export const apiKeysPage: TenantPage = {
  path: "/tenant/api-keys",
  nav: "API keys",
  permission: "apikeys:write",
  async render(main) {
    const messages = h("div", {});
    const body = h("tbody", {});
    const load = async (): Promise<void> => {
      const res = await call(() => client.GET("/api/api-keys"));
      if (!res.data) {
        replace(body);
        return say(messages, failed("Could not list the API keys.", res));
      }
      const keys = res.data.apiKeys;
      replace(body, keys.length ? keys.map((k) => keyRow(k, messages, load)) : emptyRow(8, "No API keys yet."));
    };
    replace(main, h("h1", {}, "API keys"), createForm(load), messages,
      table("API keys", ["Name", "Prefix", "Permissions", "Created", "Expires", "Last used", "Status", "Actions"], body));
    await load();
  },
};

function status(k: APIKey): string {
  if (k.revoked) return "Revoked";
  if (k.expiresAt && new Date(k.expiresAt).getTime() <= Date.now()) return "Expired";
  return "Active";
}

function keyRow(k: APIKey, messages: HTMLElement, reload: () => Promise<void>): HTMLTableRowElement {
  const actions = h("td", { class: "actions" });
  if (!k.revoked) {
    const revoke = h("button", { type: "button", class: "danger" }, "Revoke");
    revoke.addEventListener("click", () => confirmAction(revoke,
      `Revoke the key ${k.name}? Programs using it, and the keys it created, stop working at once.`, "Yes, revoke", async () => {
        const res = await call(() => client.DELETE("/api/api-keys/{id}", { params: { path: { id: k.id } } }));
        if (res.response.status !== 204) return say(messages, failed(`Could not revoke the key ${k.name}.`, res));
        say(messages, `Revoked the key ${k.name}.`, "info");
        await reload();
      }));
    actions.append(revoke);
  }
  return h("tr", {}, h("td", {}, k.name), h("td", {}, h("code", {}, k.prefix)), h("td", {}, k.permissions.join(", ")),
    h("td", {}, when(k.createdAt)), h("td", {}, k.expiresAt ? when(k.expiresAt) : "Never"),
    h("td", {}, k.lastUsedAt ? when(k.lastUsedAt) : "Never"), h("td", {}, status(k)), actions);
}

/** expiry reads a date input as the start of that day, local time (null: never). */
function expiry(input: HTMLInputElement): string | null {
  if (!input.value) return null;
  const d = new Date(`${input.value}T00:00:00`);
  return Number.isNaN(d.getTime()) ? input.value : d.toISOString();
}

function createForm(reload: () => Promise<void>): HTMLElement {
  const held = currentUser()?.user.permissions ?? allPermissions;
  const name = h("input", { name: "name", autocomplete: "off", required: true, maxlength: 100 });
  const group = checkboxes("Permissions", held, held.filter((p) => p.startsWith("data:")));
  const expires = h("input", { type: "date", name: "expiresAt" });
  const messages = h("div", {});
  const created = h("div", {});
  const submit = h("button", { type: "submit" }, "Create key");
  const form = h("form", { class: "card", novalidate: true }, h("h2", {}, "Create a key"), messages,
    field("Name", name), group, field("Expires on (optional)", expires),
    h("p", { class: "muted" }, "A key acts with your authority: never more than the permissions you hold at the time."), submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, null, async () => {
      const body = { name: name.value.trim(), permissions: checkedValues(group), expiresAt: expiry(expires) };
      const res = await call(() => client.POST("/api/api-keys", { body }));
      if (!res.data) return say(messages, failed(`Could not create the key${body.name ? ` ${body.name}` : ""}.`, res));
      replace(messages);
      form.reset();
      showKey(created, res.data.apiKey.name, res.data.key, name);
      await reload();
    });
  });
  return h("div", {}, form, created);
}

/** showKey shows a new key once, with a copy button and a warning. */
function showKey(area: HTMLElement, name: string, key: string, next: HTMLElement): void {
  const done = h("button", { type: "button", class: "secondary" }, "Done");
  done.addEventListener("click", () => {
    replace(area);
    next.focus();
  });
  replace(area, h("div", { class: "card" },
    h("h2", {}, `New key: ${name}`),
    alert("Copy the key now: it will not be shown again. Silo keeps only a hash of it.", "info"),
    copyBox("API key", key, "Copy key"), done));
  area.querySelector("input")?.focus();
}
