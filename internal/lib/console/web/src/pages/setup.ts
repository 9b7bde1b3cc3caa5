// A new installation's first step: the first central admin, a superadmin
// (POST /api/central/auth/register is public only while no central admin
// exists), logged in at once.
import { anonymous, begin, errorCode, problem } from "../api";
import { link, navigate, register } from "../router";
import { alert, busy, field, formValues, h, replace } from "../ui";

register({
  path: "/setup",
  plane: "public",
  render(main) {
    const message = h("div", {});
    const form = h("form", { class: "card login", novalidate: true },
      h("h1", {}, "Create the first central admin"),
      h("p", { class: "muted" }, "Only on a new installation: once a central admin exists, superadmins add the others."),
      message,
      field("Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true, "data-autofocus": true })),
      field("First name", h("input", { name: "firstName", autocomplete: "given-name", required: true })),
      field("Last name", h("input", { name: "lastName", autocomplete: "family-name", required: true })),
      field("Password", h("input", { name: "password", type: "password", autocomplete: "new-password", minlength: 10, required: true })),
      h("button", { type: "submit" }, "Create admin"),
      h("p", { class: "row links" }, link("/login", "Log in instead")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(form, message, () => create(form, message));
    });
    replace(main, form);
  },
});

async function create(form: HTMLFormElement, message: HTMLElement): Promise<void> {
  const v = formValues(form);
  const body = { email: (v["email"] ?? "").trim(), password: v["password"] ?? "", firstName: (v["firstName"] ?? "").trim(),
    lastName: (v["lastName"] ?? "").trim() };
  const res = await anonymous.POST("/api/central/auth/register", { body });
  if (!res.data) {
    const taken = res.response.status === 401 || errorCode(res) === "FORBIDDEN";
    return replace(message, alert(taken ? "This installation has its central admins already: log in, or ask a superadmin for an account." : problem(res)));
  }
  const login = await anonymous.POST("/api/central/auth/login", { body: { email: body.email, password: body.password } });
  if (!login.data) return navigate("/login");
  const u = login.data.user;
  begin({ plane: "central", tenant: "", access: login.data.access_token, refresh: login.data.refresh_token, email: u.email,
    actingAs: "", role: u.role });
  navigate("/central");
}
