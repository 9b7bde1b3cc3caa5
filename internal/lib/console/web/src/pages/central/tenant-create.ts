// Creating a tenant: its slug, name, custom domains and database server,
// and its first tenant_admin: an account made now (email and password),
// an invitation sent after creation, or none yet.
import { call, client, problem, type Schemas } from "../../api";
import { register } from "../../router";
import { alert, busy, definitions, field, formValues, h, replace, select, words } from "../../ui";
import { tenantLink } from "./common";

register({
  path: "/central/new-tenant",
  plane: "central",
  async render(main) {
    const servers = await call(() => client.GET("/api/central/servers"));
    const names = servers.data?.servers.filter((s) => s.status === "active").map((s) => s.name) ?? [];
    const message = h("div", {});
    const adminFields = h("div", { class: "indent" },
      field("Admin email", h("input", { name: "adminEmail", type: "email", autocomplete: "off" })),
      field("Admin password", h("input", { name: "adminPassword", type: "password", autocomplete: "new-password", minlength: 10 })),
      field("Admin first name", h("input", { name: "adminFirstName", autocomplete: "off" })),
      field("Admin last name", h("input", { name: "adminLastName", autocomplete: "off" })));
    const inviteFields = h("div", { class: "indent", hidden: true },
      field("Email to invite", h("input", { name: "inviteEmail", type: "email", autocomplete: "off" })));
    const choice = (value: string, label: string, checked = false) =>
      h("label", { class: "check" }, h("input", { type: "radio", name: "first", value, checked }), label);
    const form = h("form", { class: "card", novalidate: true },
      h("h1", {}, "Create tenant"),
      message,
      field("Slug", h("input", { name: "slug", required: true, autocomplete: "off", spellcheck: "false", pattern: "[a-z][a-z0-9-]{1,38}[a-z0-9]",
        "aria-describedby": "slug-rule", "data-autofocus": true })),
      h("p", { class: "muted hint", id: "slug-rule" }, "3 to 40 of a-z, 0-9 and -, starting with a letter; it names the tenant's database and can never change."),
      field("Name", h("input", { name: "name", required: true, autocomplete: "off" })),
      field("Custom domains", h("input", { name: "domains", autocomplete: "off", placeholder: "app.example.com, www.example.com" })),
      field("Database server", select("server", [["", "Silo chooses"], ...names.map((n): [string, string] => [n, n])])),
      h("fieldset", {}, h("legend", {}, "First tenant admin"),
        choice("account", "Create the account now", true),
        adminFields,
        choice("invite", "Invite someone by email after creation"),
        inviteFields,
        choice("none", "None yet")),
      h("button", { type: "submit" }, "Create tenant"));
    form.addEventListener("change", () => {
      const first = formValues(form)["first"];
      adminFields.hidden = first !== "account";
      inviteFields.hidden = first !== "invite";
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(form, message, () => create(form, message, main));
    });
    replace(main, form);
  },
});

async function create(form: HTMLFormElement, message: HTMLElement, main: HTMLElement): Promise<void> {
  const v = formValues(form);
  const body: Schemas["CreateTenantRequest"] = {
    slug: (v["slug"] ?? "").trim(), name: (v["name"] ?? "").trim(), domains: words(v["domains"] ?? ""),
  };
  if (v["server"]) body.server = v["server"];
  if (v["first"] === "account") {
    body.admin = { email: (v["adminEmail"] ?? "").trim(), password: v["adminPassword"] ?? "",
      firstName: (v["adminFirstName"] ?? "").trim(), lastName: (v["adminLastName"] ?? "").trim() };
  }
  const inviteEmail = (v["inviteEmail"] ?? "").trim();
  if (v["first"] === "invite" && !inviteEmail) return replace(message, alert("Give the email to invite, or choose another option."));
  replace(message);
  const res = await call(() => client.POST("/api/central/tenants", { body }));
  if (!res.data) {
    const failed = res.response.status === 503 && body.slug;
    return replace(message, alert(problem(res)), failed ? h("p", {}, "The tenant is recorded as failed: ",
      tenantLink(body.slug, `retry its provisioning on its page`), ".") : null);
  }
  const t = res.data.tenant;
  const done = h("section", { class: "card" }, h("h1", {}, `Tenant ${t.slug} created`),
    definitions([["Name", t.name], ["Status", t.status], ["Server", t.server], ["Database", t.databaseName]]),
    h("p", {}, tenantLink(t.slug, `Open ${t.slug}`)));
  replace(main, done);
  if (v["first"] === "invite") {
    const inv = await call(() => client.POST("/api/central/tenants/{slug}/invitations",
      { params: { path: { slug: t.slug } }, body: { email: inviteEmail, role: "tenant_admin" } }));
    done.append(inv.data ? invitationLink(t.slug, inv.data) : alert(`The invitation failed: ${problem(inv)}`));
  }
}

/** invitationLink shows an invitation's acceptance link, which holds its token: shown once. */
export function invitationLink(slug: string, inv: Schemas["InvitationAnswer"]): HTMLElement {
  const url = `${location.origin}/console/invite?tenant=${encodeURIComponent(slug)}&token=${encodeURIComponent(inv.token)}`;
  const input = h("input", { readonly: true, value: url, class: "copy" });
  input.addEventListener("focus", () => input.select());
  return h("div", { class: "alert info", role: "status" },
    h("p", {}, `Invitation for ${inv.invitation.email} (${inv.invitation.role}). Send them this link; it is shown only now:`),
    field("Invitation link", input));
}
