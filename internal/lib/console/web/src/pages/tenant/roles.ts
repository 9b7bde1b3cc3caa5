// Roles: a matrix of the tenant's roles and permissions. Built-in roles are
// read-only; a custom role's permissions and description can be changed
// (Save) and the role deleted; new custom roles are created below.
import { call, client } from "../../api";
import type { components } from "../../schema";
import { alert, field, h, replace } from "../../ui";
import { allPermissions, busy, can, checkboxes, checkedValues, confirmAction, failed, say } from "../../widgets";
import type { TenantPage } from "./index";

type Role = components["schemas"]["Role"];

export const rolesPage: TenantPage = {
  path: "/tenant/roles",
  nav: "Roles",
  permission: "roles:write",
  async render(main) {
    const messages = h("div", {});
    const section = h("div", {});
    const writable = can("roles:write");
    const load = async (): Promise<void> => {
      const res = await call(() => client.GET("/api/roles"));
      if (!res.data) return replace(section, alert(failed("Could not list the roles.", res)));
      replace(section, matrix(res.data.roles, writable, messages, load));
    };
    replace(main, h("h1", {}, "Roles"), messages, section, writable ? createForm(load) : null);
    await load();
  },
};

/** matrix is the table of roles × permissions. */
function matrix(roles: Role[], writable: boolean, messages: HTMLElement, reload: () => Promise<void>): HTMLTableElement {
  const perms = [...new Set([...allPermissions, ...roles.flatMap((r) => r.permissions)])];
  return h("table", { class: "matrix" },
    h("caption", {}, "Permissions of each role. Built-in roles cannot be changed."),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Role"), h("th", { scope: "col" }, "Description"),
      perms.map((p) => h("th", { scope: "col" }, p)), h("th", { scope: "col" }, "Actions"))),
    h("tbody", {}, roles.map((r) => roleRow(r, perms, writable && !r.builtIn, messages, reload))));
}

function roleRow(r: Role, perms: string[], editable: boolean, messages: HTMLElement, reload: () => Promise<void>): HTMLTableRowElement {
  const boxes = perms.map((p) => h("input", {
    type: "checkbox", value: p, checked: r.permissions.includes(p), disabled: !editable, "aria-label": `${r.name}: ${p}`,
  }));
  const description = editable
    ? h("input", { value: r.description, maxlength: 255, "aria-label": `Description of ${r.name}` })
    : null;
  const row = h("tr", {},
    h("th", { scope: "row" }, r.name, r.builtIn ? h("span", { class: "muted" }, " (built-in)") : null),
    h("td", {}, description ?? r.description),
    boxes.map((b) => h("td", { class: "center" }, b)),
    h("td", { class: "actions" }));
  if (!editable || !description) return row;
  const save = h("button", { type: "button" }, "Save");
  save.addEventListener("click", () => void busy(save, null, async () => {
    const body = { description: description.value.trim(), permissions: boxes.filter((b) => b.checked).map((b) => b.value) };
    const res = await call(() => client.PUT("/api/roles/{name}", { params: { path: { name: r.name } }, body }));
    if (!res.data) return say(messages, failed(`Could not save the role ${r.name}.`, res));
    say(messages, `Saved the role ${r.name}.`, "info");
  }));
  const del = h("button", { type: "button", class: "danger" }, "Delete");
  del.addEventListener("click", () => confirmAction(del, `Delete the role ${r.name}? No user may still have it.`, "Yes, delete", async () => {
    const res = await call(() => client.DELETE("/api/roles/{name}", { params: { path: { name: r.name } } }));
    if (res.response.status !== 204) return say(messages, failed(`Could not delete the role ${r.name}.`, res));
    say(messages, `Deleted the role ${r.name}.`, "info");
    await reload();
  }));
  row.lastElementChild?.append(h("div", { class: "row" }, save, del));
  return row;
}

/** createForm creates a custom role. */
function createForm(reload: () => Promise<void>): HTMLFormElement {
  const name = h("input", { name: "name", autocomplete: "off", required: true, maxlength: 64 });
  const description = h("input", { name: "description", autocomplete: "off", maxlength: 255 });
  const group = checkboxes("Permissions", allPermissions, []);
  const messages = h("div", {});
  const submit = h("button", { type: "submit" }, "Create role");
  const form = h("form", { class: "card", novalidate: true }, h("h2", {}, "Create a role"), messages,
    field("Name", name), h("p", { class: "muted" }, "Lower-case letters, digits, - and _, starting with a letter."),
    field("Description", description), group,
    h("p", { class: "muted" }, "You can grant only permissions you hold yourself."), submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, null, async () => {
      const body = { name: name.value.trim(), description: description.value.trim(), permissions: checkedValues(group) };
      const res = await call(() => client.POST("/api/roles", { body }));
      if (!res.data) return say(messages, failed(`Could not create the role${body.name ? ` ${body.name}` : ""}.`, res));
      form.reset();
      say(messages, `Created the role ${res.data.role.name}.`, "info");
      await reload();
    });
  });
  return form;
}
