// The login form: email, password and the "Login as Central Admin"
// checkbox. Checked, it logs in to the central plane; unchecked, to the
// tenant named by the host or by the tenant field.
import { begin, client, problem } from "../api";
import { navigate, register } from "../router";
import { alert, field, formValues, h, replace } from "../ui";

register({
  path: "/login",
  plane: "public",
  render(main) {
    const tenantInput = h("input", { name: "tenant", autocomplete: "organization", placeholder: "acme" });
    const tenantField = field("Tenant ID", tenantInput);
    const central = h("input", { type: "checkbox", name: "central", id: "central" });
    const message = h("div", {});
    const form = h("form", { class: "card login", novalidate: true },
      h("h1", {}, "Log in"),
      message,
      field("Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true })),
      field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
      h("label", { class: "check", for: "central" }, central, "Login as Central Admin"),
      tenantField,
      h("button", { type: "submit" }, "Log in"));
    central.addEventListener("change", () => {
      tenantField.hidden = central.checked;
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void submit(form, central.checked, message);
    });
    replace(main, form);
  },
});

async function submit(form: HTMLFormElement, central: boolean, message: HTMLElement): Promise<void> {
  const v = formValues(form);
  const body = { email: v["email"] ?? "", password: v["password"] ?? "" };
  if (central) {
    const res = await client.POST("/api/central/auth/login", { body });
    if (!res.data) return replace(message, alert(problem(res)));
    begin({ plane: "central", tenant: "", access: res.data.access_token, refresh: res.data.refresh_token, email: res.data.user.email, actingAs: "" });
    return navigate("/central");
  }
  const tenant = (v["tenant"] ?? "").trim();
  if (!tenant) return replace(message, alert("Tenant ID is required"));
  const res = await client.POST("/api/auth/login", { body, params: { header: { "x-tenant-id": tenant } } });
  if (!res.data) return replace(message, alert(problem(res)));
  begin({ plane: "tenant", tenant: res.data.tenant.slug, access: res.data.access_token, refresh: res.data.refresh_token, email: res.data.user.email, actingAs: "" });
  navigate("/tenant");
}
