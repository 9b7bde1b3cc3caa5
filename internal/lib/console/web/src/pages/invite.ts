// Accepting an invitation (/console/invite?tenant=…&token=…): either a new
// account (password and names; the email is the invitation's), or "I
// already have an account": log in, then accept with that session, which
// adds the invited role to the account.
import { anonymous, begin, errorCode, refresh, type Answer, type Schemas } from "../api";
import { link, navigate, register } from "../router";
import { tenantPick, tenantProblem, type TenantPick } from "../tenantpick";
import { alert, busy, field, formValues, h, replace } from "../ui";

register({
  path: "/invite",
  plane: "public",
  async render(main, _params, query) {
    // The token is a secret: out of the address bar (and history) at once.
    const token = query.get("token") ?? "";
    const tenant = query.get("tenant") ?? "";
    if (token) history.replaceState(null, "", `${location.pathname}${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ""}`);
    const message = h("div", {});
    const pick = tenantPick(tenant, message);
    const tokenInput = h("input", { name: "token", autocomplete: "off", spellcheck: "false", required: true });
    tokenInput.value = token;
    const tokenField = field("Invitation token", tokenInput);
    tokenField.hidden = token !== "";
    const existing = h("input", { type: "checkbox", name: "existing", id: "existing" });
    // One set of fields at a time: a new account's, or the existing one's login.
    const create = () => [
      field("First name", h("input", { name: "firstName", autocomplete: "given-name" })),
      field("Last name", h("input", { name: "lastName", autocomplete: "family-name" })),
      field("Password", h("input", { name: "password", type: "password", autocomplete: "new-password", minlength: 10 }))];
    const login = () => [
      field("Email", h("input", { name: "email", type: "email", autocomplete: "username" })),
      field("Password", h("input", { name: "currentPassword", type: "password", autocomplete: "current-password" }))];
    const fields = h("div", {}, create());
    const submitButton = h("button", { type: "submit" }, "Accept invitation");
    const form = h("form", { class: "card login", novalidate: true },
      pick.mark,
      h("h1", {}, "Accept an invitation"),
      message,
      tokenField,
      pick.field,
      h("label", { class: "check", for: "existing" }, existing, "I already have an account"),
      fields,
      submitButton,
      h("p", { class: "row links" }, link("/login", "Log in instead")));
    pick.field.hidden = true;
    existing.addEventListener("change", () => {
      replace(fields, existing.checked ? login() : create());
      submitButton.textContent = existing.checked ? "Log in and accept" : "Accept invitation";
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const showToken = () => (tokenField.hidden = false); // a wrong token can be corrected
      void busy(form, message, () => accept(form, tokenInput.value.trim(), existing.checked, pick, message, showToken));
    });
    replace(main, form);
    await pick.ready;
  },
});

/** refused reports a refused acceptance, showing the token field when the token is at fault. */
function refused(res: Answer<unknown>, pick: TenantPick, message: HTMLElement, showToken: () => void): void {
  if (errorCode(res).startsWith("INVITATION_")) showToken();
  replace(message, alert(tenantProblem(res, pick.typed())));
}

async function accept(form: HTMLFormElement, token: string, existing: boolean, pick: TenantPick, message: HTMLElement,
  showToken: () => void): Promise<void> {
  const v = formValues(form);
  replace(message);
  if (!token) {
    showToken();
    return replace(message, alert("The invitation token is required: it is in the link you were sent."));
  }
  if (!pick.fromHost() && !pick.typed()) return replace(message, alert("Tenant ID is required"));
  const header = pick.header();
  let email = (v["email"] ?? "").trim();
  let password = v["currentPassword"] ?? "";
  if (existing) {
    if (!email || !password) return replace(message, alert("Email and password are required."));
    const login = await anonymous.POST("/api/auth/login", { body: { email, password }, params: { header } });
    if (!login.data) return replace(message, alert(tenantProblem(login, pick.typed())));
    const res = await anonymous.POST("/api/invitations/accept", { body: { token }, params: { header },
      headers: { Authorization: `Bearer ${login.data.access_token}` } });
    if (!res.data) return refused(res, pick, message, showToken);
    return start(login.data);
  }
  password = v["password"] ?? "";
  const body = { token, password, firstName: (v["firstName"] ?? "").trim(), lastName: (v["lastName"] ?? "").trim() };
  const res = await anonymous.POST("/api/invitations/accept", { body, params: { header } });
  if (!res.data) return refused(res, pick, message, showToken);
  email = res.data.user.email;
  const login = await anonymous.POST("/api/auth/login", { body: { email, password }, params: { header } });
  if (!login.data) {
    replace(message, alert("Your account was created, but logging in failed: log in with it.", "info"));
    return navigate("/login");
  }
  await start(login.data);
}

/** start begins the session, its permissions read again after the acceptance. */
async function start(s: Schemas["TenantSession"]): Promise<void> {
  begin({ plane: "tenant", tenant: s.tenant.slug, access: s.access_token, refresh: s.refresh_token, email: s.user.email,
    actingAs: "", permissions: s.user.permissions ?? [] });
  await refresh();
  navigate("/tenant");
}
