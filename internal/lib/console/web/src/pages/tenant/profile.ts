// Profile: the logged-in user's account (email, names, roles, permissions)
// and their own config, a JSON object kept for them by the tenant.
import { call, client } from "../../api";
import { alert, h, replace } from "../../ui";
import { busy, failed, jsonEditor, readObject, say, type Me } from "../../widgets";
import type { TenantPage } from "./index";

export const profilePage: TenantPage = {
  path: "/tenant/profile",
  nav: "Profile",
  async render(main) {
    const [me, config] = await Promise.all([
      call(() => client.GET("/api/auth/me")),
      call(() => client.GET("/api/auth/config")),
    ]);
    if (!me.data) return replace(main, h("h1", {}, "Profile"), alert(failed("Could not load your account.", me)));
    replace(main, h("h1", {}, "Profile"), account(me.data),
      config.data ? configForm(config.data.config) : alert(failed("Could not load your config.", config)));
  },
};

function account(me: Me): HTMLElement {
  const u = me.user;
  const item = (term: string, value: string): HTMLElement[] => [h("dt", {}, term), h("dd", {}, value || "none")];
  return h("dl", { class: "facts" },
    item("Email", u.email), item("First name", u.firstName), item("Last name", u.lastName),
    item("Tenant", `${me.tenant.name} (${me.tenant.slug})`),
    item("Roles", (u.roles ?? []).join(", ")), item("Permissions", (u.permissions ?? []).join(", ")),
    me.impersonatedBy ? item("Acting central admin", me.impersonatedBy) : null);
}

function configForm(config: unknown): HTMLFormElement {
  const editor = jsonEditor("Config (JSON)", config);
  const messages = h("div", {});
  const submit = h("button", { type: "submit" }, "Save config");
  const form = h("form", { class: "card", novalidate: true }, h("h2", {}, "Config"),
    h("p", { class: "muted" }, "Your own settings, a JSON object of at most 64 KiB, kept for you by the tenant."),
    messages, editor.field, submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const value = readObject(editor.input, messages);
    if (!value) return;
    void busy(submit, null, async () => {
      const res = await call(() => client.PUT("/api/auth/config", { body: { config: value } }));
      if (!res.data) return say(messages, failed("Could not save your config.", res));
      editor.input.value = JSON.stringify(res.data.config, null, 2);
      say(messages, "Config saved.", "info");
    });
  });
  return form;
}
