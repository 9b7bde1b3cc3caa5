// The login form: email, password and the "Login as Central Admin"
// checkbox. Checked, it logs in to the central plane; unchecked, to the
// tenant the address names or, when it names none, the one in the
// "Tenant ID" field.
import { anonymous, begin, problem, session } from "../api";
import { applyBranding } from "../branding";
import { link, navigate, register } from "../router";
import { tenantPick, tenantProblem, type TenantPick } from "../tenantpick";
import { alert, busy, field, formValues, h, replace } from "../ui";

register({
  path: "/login",
  plane: "public",
  async render(main, _params, query) {
    const message = h("div", {});
    const extra = h("p", { class: "row links" });
    const pick = tenantPick(query.get("tenant") ?? "", message, () => links(pick, extra));
    const central = h("input", { type: "checkbox", name: "central", id: "central" });
    const current = session();
    const form = h("form", { class: "card login", novalidate: true },
      pick.mark,
      h("h1", {}, "Log in"),
      current ? h("p", { class: "muted" }, `You are logged in as ${current.email}; logging in again replaces that session.`) : null,
      message,
      field("Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true, "data-autofocus": true })),
      field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
      h("label", { class: "check", for: "central" }, central, "Login as Central Admin"),
      pick.field,
      h("button", { type: "submit" }, "Log in"),
      extra);
    pick.field.hidden = true; // until the address has been asked
    central.addEventListener("change", () => {
      pick.hideField(central.checked);
      if (central.checked) applyBranding(null);
      else applyBranding(pick.branding());
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(form, message, () => submit(form, central.checked, pick, message, query.get("next") ?? ""));
    });
    replace(main, form);
    await pick.ready;
    links(pick, extra);
  },
});

/** links offers sign-up (when the tenant takes sign-ups) and invitations. */
function links(pick: TenantPick, out: HTMLElement): void {
  const b = pick.branding();
  const q = pick.typed() ? `?tenant=${encodeURIComponent(pick.typed())}` : "";
  replace(out,
    b?.allowPublicSignup ? link(`/signup${q}`, "Sign up") : null,
    link(`/invite${q}`, "Accept an invitation"),
    pick.fromHost() ? null : link("/setup", "New installation? Create the first central admin"));
}

/** next is where to go after logging in: the page asked for, if it is of the plane. */
function next(wanted: string, plane: "central" | "tenant"): string {
  const home = `/${plane}`;
  if (!wanted.startsWith("/") || wanted.startsWith("//")) return home;
  return wanted === home || wanted.startsWith(`${home}/`) || wanted.startsWith(`${home}?`) ? wanted : home;
}

async function submit(form: HTMLFormElement, central: boolean, pick: TenantPick, message: HTMLElement, wanted: string): Promise<void> {
  const v = formValues(form);
  const body = { email: (v["email"] ?? "").trim(), password: v["password"] ?? "" };
  replace(message);
  if (!body.email || !body.password) return replace(message, alert("Email and password are required."));
  if (central) {
    const res = await anonymous.POST("/api/central/auth/login", { body });
    if (!res.data) return replace(message, alert(problem(res)));
    const u = res.data.user;
    begin({ plane: "central", tenant: "", access: res.data.access_token, refresh: res.data.refresh_token, email: u.email,
      actingAs: "", role: u.role });
    return navigate(next(wanted, "central"));
  }
  if (!pick.fromHost() && !pick.typed()) return replace(message, alert("Tenant ID is required"));
  const res = await anonymous.POST("/api/auth/login", { body, params: { header: pick.header() } });
  if (!res.data) return replace(message, alert(tenantProblem(res, pick.typed())));
  const u = res.data.user;
  begin({ plane: "tenant", tenant: res.data.tenant.slug, access: res.data.access_token, refresh: res.data.refresh_token,
    email: u.email, actingAs: "", permissions: u.permissions ?? [] });
  navigate(next(wanted, "tenant"));
}
