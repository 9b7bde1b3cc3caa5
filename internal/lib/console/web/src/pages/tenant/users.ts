// Users: the tenant's users a page at a time (with a search), adding a
// user, changing their roles, deactivating, reactivating and deleting.
// The server keeps the last tenant_admin and refuses to grant permissions
// the caller lacks; its refusals are shown as they come.
import { call, client } from "../../api";
import type { components } from "../../schema";
import { field, h, replace } from "../../ui";
import {
  busy, can, checkboxes, checkedValues, confirmAction, currentUser, emptyRow, failed, forgetUser, pager, say, table,
} from "../../widgets";
import type { TenantPage } from "./index";

type User = components["schemas"]["TenantUser"];

interface Context {
  messages: HTMLElement;
  roles: string[];
  writable: boolean;
  /** reload shows the page of users again */
  reload(): Promise<void>;
}

export const usersPage: TenantPage = {
  path: "/tenant/users",
  nav: "Users",
  permission: "users:read",
  async render(main) {
    const messages = h("div", {});
    const rolesRes = await call(() => client.GET("/api/roles"));
    const roles = rolesRes.data?.roles.map((r) => r.name) ?? ["member", "tenant_admin"];
    const body = h("tbody", {});
    const search = h("input", { type: "search", name: "q", autocomplete: "off", maxlength: 200 });
    let q = "";
    const ctx: Context = { messages, roles, writable: can("users:write"), reload: () => list.reload() };
    const list = pager(async (cursor) => {
      const res = await call(() => client.GET("/api/users", { params: { query: { q: q || undefined, cursor } } }));
      if (!res.data) {
        say(messages, failed("Could not list the users.", res));
        replace(body);
        return null;
      }
      const users = res.data.users;
      replace(body, users.length ? users.map((u) => userRow(u, ctx)) : emptyRow(5, q ? "No user matches the search." : "No users yet."));
      return res.data.nextCursor;
    });
    const form = h("form", { role: "search", class: "row" }, field("Search", search), h("button", { type: "submit" }, "Search"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      q = search.value.trim();
      void list.reset();
    });
    replace(main, h("h1", {}, "Users"), form, messages,
      table("Users", ["Email", "Name", "Roles", "Status", "Actions"], body), list.element,
      ctx.writable ? addUserForm(ctx) : null);
    await list.reset();
  },
};

function userRow(u: User, ctx: Context): HTMLTableRowElement {
  const rolesCell = h("td", {}, rolesOf(u));
  const actions = h("td", { class: "actions" });
  const row = h("tr", {}, h("td", {}, u.email), h("td", {}, `${u.firstName} ${u.lastName}`.trim()), rolesCell,
    h("td", {}, u.isActive ? "Active" : "Inactive"), actions);
  if (!ctx.writable) return row;
  const change = h("button", { type: "button", class: "secondary" }, "Change roles");
  change.addEventListener("click", () => editRoles(u, rolesCell, change, ctx));
  const toggle = h("button", { type: "button", class: "secondary" }, u.isActive ? "Deactivate" : "Reactivate");
  toggle.addEventListener("click", () => void busy(toggle, null, () => setActive(u, !u.isActive, row, ctx)));
  const del = h("button", { type: "button", class: "danger" }, "Delete");
  del.addEventListener("click", () => confirmAction(del, `Delete ${u.email}? This cannot be undone.`, "Yes, delete", () => remove(u, ctx)));
  actions.append(h("div", { class: "row" }, change, toggle, del));
  return row;
}

/** editRoles puts the tenant's roles as checkboxes in the user's roles cell. */
function editRoles(u: User, cell: HTMLElement, opener: HTMLButtonElement, ctx: Context): void {
  const group = checkboxes(`Roles of ${u.email}`, ctx.roles, u.roles ?? []);
  const save = h("button", { type: "submit" }, "Save roles");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const form = h("form", { class: "inline" }, group, h("div", { class: "row" }, save, cancel));
  const close = (): void => {
    replace(cell, rolesOf(u));
    opener.hidden = false;
    opener.focus();
  };
  cancel.addEventListener("click", close);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(save, null, async () => {
      const roles = checkedValues(group);
      const res = await call(() => client.PUT("/api/users/{id}/roles", { params: { path: { id: u.id } }, body: { roles } }));
      if (!res.data) return say(ctx.messages, failed(`Could not change the roles of ${u.email}.`, res));
      if (u.id === currentUser()?.user.id) forgetUser();
      say(ctx.messages, `${u.email} now has the roles: ${rolesOf(res.data.user)}.`, "info");
      await ctx.reload();
    });
  });
  opener.hidden = true;
  replace(cell, form);
  group.querySelector("input")?.focus();
}

async function setActive(u: User, isActive: boolean, row: HTMLTableRowElement, ctx: Context): Promise<void> {
  const res = await call(() => client.PATCH("/api/users/{id}", { params: { path: { id: u.id } }, body: { isActive } }));
  const doing = isActive ? "reactivate" : "deactivate";
  if (!res.data) return say(ctx.messages, failed(`Could not ${doing} ${u.email}.`, res));
  const fresh = userRow(res.data.user, ctx);
  row.replaceWith(fresh);
  say(ctx.messages, `${u.email} is ${isActive ? "active again" : "deactivated"}.`, "info");
  fresh.querySelector<HTMLButtonElement>(".actions button:nth-child(2)")?.focus();
}

async function remove(u: User, ctx: Context): Promise<void> {
  const res = await call(() => client.DELETE("/api/users/{id}", { params: { path: { id: u.id } } }));
  if (res.response.status !== 204) return say(ctx.messages, failed(`Could not delete ${u.email}.`, res));
  say(ctx.messages, `${u.email} is deleted.`, "info");
  await ctx.reload();
}

/** addUserForm adds a user with a password and roles (member unless chosen otherwise). */
function addUserForm(ctx: Context): HTMLFormElement {
  const email = h("input", { type: "email", name: "email", autocomplete: "off", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", minlength: 10, required: true });
  const first = h("input", { name: "firstName", autocomplete: "off", required: true, maxlength: 100 });
  const last = h("input", { name: "lastName", autocomplete: "off", required: true, maxlength: 100 });
  const group = checkboxes("Roles", ctx.roles, ["member"]);
  const submit = h("button", { type: "submit" }, "Add user");
  const messages = h("div", {});
  const form = h("form", { class: "card", novalidate: true }, h("h2", {}, "Add a user"), messages,
    field("Email", email), field("Password", password), h("p", { class: "muted" }, "At least 10 characters."),
    field("First name", first), field("Last name", last), group, submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, null, async () => {
      const body = { email: email.value.trim(), password: password.value, firstName: first.value.trim(), lastName: last.value.trim(), roles: checkedValues(group) };
      const res = await call(() => client.POST("/api/users", { body }));
      if (!res.data) return say(messages, failed(`Could not add ${body.email || "the user"}.`, res));
      form.reset();
      say(messages, `Added ${res.data.user.email} (${rolesOf(res.data.user)}).`, "info");
      await ctx.reload();
    });
  });
  return form;
}

/** rolesOf lists a user's roles in words. */
function rolesOf(u: User): string {
  return (u.roles ?? []).join(", ") || "none";
}
