// Sign-up to a tenant that takes sign-ups (its allowPublicSignup setting):
// the new account is a member, logged in at once.
import { anonymous, begin, errorCode } from "../api";
import { link, navigate, register } from "../router";
import { tenantPick, tenantProblem, type TenantPick } from "../tenantpick";
import { alert, busy, field, formValues, h, replace } from "../ui";

register({
  path: "/signup",
  plane: "public",
  async render(main, _params, query) {
    const message = h("div", {});
    const closed = h("div", {});
    const pick = tenantPick(query.get("tenant") ?? "", message, (b) => {
      replace(closed, b && !b.allowPublicSignup ? alert(`${b.name} does not take sign-ups: ask one of its admins for an invitation.`, "info") : null);
    });
    const form = h("form", { class: "card login", novalidate: true },
      pick.mark,
      h("h1", {}, "Sign up"),
      message,
      closed,
      field("Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true, "data-autofocus": true })),
      field("First name", h("input", { name: "firstName", autocomplete: "given-name", required: true })),
      field("Last name", h("input", { name: "lastName", autocomplete: "family-name", required: true })),
      field("Password", h("input", { name: "password", type: "password", autocomplete: "new-password", required: true,
        minlength: 10, "aria-describedby": "password-rule" })),
      h("p", { class: "muted hint", id: "password-rule" }, "At least 10 characters."),
      pick.field,
      h("button", { type: "submit" }, "Sign up"),
      h("p", { class: "row links" }, link("/login", "Log in instead")));
    pick.field.hidden = true;
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(form, message, () => submit(form, pick, message));
    });
    replace(main, form);
    await pick.ready;
  },
});

async function submit(form: HTMLFormElement, pick: TenantPick, message: HTMLElement): Promise<void> {
  const v = formValues(form);
  replace(message);
  if (!pick.fromHost() && !pick.typed()) return replace(message, alert("Tenant ID is required"));
  const body = { email: (v["email"] ?? "").trim(), password: v["password"] ?? "", firstName: (v["firstName"] ?? "").trim(),
    lastName: (v["lastName"] ?? "").trim() };
  const header = pick.header();
  const res = await anonymous.POST("/api/auth/register", { body, params: { header } });
  if (!res.data) {
    const closed = errorCode(res) === "FORBIDDEN" ? "This tenant does not take sign-ups: ask one of its admins for an invitation." : "";
    return replace(message, alert(closed || tenantProblem(res, pick.typed())));
  }
  const login = await anonymous.POST("/api/auth/login", { body: { email: body.email, password: body.password }, params: { header } });
  if (!login.data) {
    replace(message, alert("Your account was created, but logging in failed: log in below.", "info"));
    return navigate(`/login${pick.typed() ? `?tenant=${encodeURIComponent(pick.typed())}` : ""}`);
  }
  const u = login.data.user;
  begin({ plane: "tenant", tenant: login.data.tenant.slug, access: login.data.access_token, refresh: login.data.refresh_token,
    email: u.email, actingAs: "", permissions: u.permissions ?? [] });
  navigate("/tenant");
}
