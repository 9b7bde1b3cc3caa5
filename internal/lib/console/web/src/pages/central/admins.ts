// Central admins (superadmins only): add one, change a role or the active
// flag, delete one. The last active superadmin is protected by the server.
import { call, client, problem, session, type Schemas } from "../../api";
import { navigate, register } from "../../router";
import { alert, busy, button, field, formValues, h, pager, replace, select, table, when } from "../../ui";
import { cannotLoad, withQuery } from "./common";

type Admin = Schemas["Admin"];
const path = "/central/admins";

register({
  path,
  plane: "central",
  nav: "Admins",
  superadmin: true,
  async render(main, _params, query) {
    const cursor = query.get("cursor") ?? "";
    const res = await call(() => client.GET("/api/central/admins", { params: { query: { limit: 50, cursor: cursor || undefined } } }));
    if (!res.data) return cannotLoad(main, "Central admins", res);
    const message = h("div", { "aria-live": "polite" });
    replace(main,
      h("h1", {}, "Central admins"),
      message,
      table("Central admins", ["Email", "Name", "Role", "Active", "Added", ""],
        res.data.admins.map((a) => row(a, message))),
      pager(res.data.nextCursor, (next) => navigate(withQuery(path, { cursor: next }))),
      addForm());
  },
});

function row(a: Admin, message: HTMLElement): (Node | string)[] {
  const patch = async (body: Schemas["AdminPatchRequest"], undo: () => void) => {
    const res = await call(() => client.PATCH("/api/central/admins/{id}", { params: { path: { id: a.id } }, body }));
    if (!res.data) {
      undo();
      return replace(message, alert(`${a.email}: ${problem(res)}`));
    }
    Object.assign(a, res.data.user);
    replace(message, alert(`${a.email} is saved.`, "info"));
  };
  const role = select("role", ["superadmin", "admin"], a.role);
  role.setAttribute("aria-label", `Role of ${a.email}`);
  role.addEventListener("change", () => void busy(role, message,
    () => patch({ role: role.value as "superadmin" | "admin" }, () => (role.value = a.role))));
  const active = h("input", { type: "checkbox", checked: a.isActive, "aria-label": `${a.email} is active` });
  active.addEventListener("change", () => void busy(active, message,
    () => patch({ isActive: active.checked }, () => (active.checked = a.isActive))));
  const own = session()?.email === a.email;
  return [a.email, `${a.firstName} ${a.lastName}`.trim(), role, active, when(a.createdAt), own ? "you" : deleteButton(a, message)];
}

/** deleteButton asks once more before deleting. */
function deleteButton(a: Admin, message: HTMLElement): HTMLElement {
  const out = h("span", { class: "row" });
  const first = (): HTMLButtonElement => {
    const b = button("Delete", ask, "secondary");
    b.setAttribute("aria-label", `Delete ${a.email}`);
    return b;
  };
  const ask = (): void => {
    const sure: HTMLButtonElement = button(`Confirm delete ${a.email}`, () => busy(sure, message, async () => {
      const res = await call(() => client.DELETE("/api/central/admins/{id}", { params: { path: { id: a.id } } }));
      if (res.response.status !== 204) return replace(message, alert(`${a.email}: ${problem(res)}`));
      out.closest("tr")?.remove();
      replace(message, alert(`${a.email} is deleted.`, "info"));
    }), "danger");
    replace(out, sure, button("Cancel", () => replace(out, first()), "secondary"));
    sure.focus();
  };
  out.append(first());
  return out;
}

function addForm(): HTMLElement {
  const message = h("div", {});
  const form = h("form", { class: "card", novalidate: true },
    h("h2", {}, "Add admin"),
    message,
    field("Email", h("input", { name: "email", type: "email", autocomplete: "off", required: true })),
    field("First name", h("input", { name: "firstName", autocomplete: "off", required: true })),
    field("Last name", h("input", { name: "lastName", autocomplete: "off", required: true })),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "new-password", minlength: 10, required: true })),
    field("Role", select("role", ["admin", "superadmin"])),
    h("button", { type: "submit" }, "Add admin"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(form, message, async () => {
      const v = formValues(form);
      const body: Schemas["RegisterRequest"] = { email: (v["email"] ?? "").trim(), password: v["password"] ?? "",
        firstName: (v["firstName"] ?? "").trim(), lastName: (v["lastName"] ?? "").trim(), role: v["role"] === "superadmin" ? "superadmin" : "admin" };
      const res = await call(() => client.POST("/api/central/auth/register", { body }));
      if (!res.data) return replace(message, alert(problem(res)));
      navigate(path);
    });
  });
  return form;
}
