// A tenant's page: its status, server, database, schema version of each
// migration set, domains and last error; and what a central admin does
// with it: suspend, resume, retry provisioning, rename, invite, act as one
// of its users (superadmins), delete (superadmins, typing its slug).
import { begin, call, client, problem, session, type Schemas } from "../../api";
import { subscribe } from "../../live";
import { flash } from "../../notice";
import { navigate, onLeave, register } from "../../router";
import { alert, badge, busy, button, checkbox, confirmTyped, definitions, field, formValues, h, replace, select, table, when, words } from "../../ui";
import { cannotLoad, isSuperadmin, serverLink, tenantsPath } from "./common";
import { invitationLink } from "./tenant-create";

type Tenant = Schemas["Tenant"];

register({
  path: `${tenantsPath}/:slug`,
  plane: "central",
  async render(main, { slug = "" }) {
    const [res, fleet] = await Promise.all([
      call(() => client.GET("/api/central/tenants/{slug}", { params: { path: { slug } } })),
      call(() => client.GET("/api/central/migrations/status")),
    ]);
    if (!res.data) return cannotLoad(main, `Tenant ${slug}`, res);
    const schema = fleet.data?.tenants.find((t) => t.slug === slug) ?? null;
    const page = new TenantPage(main, res.data.tenant, schema);
    page.render();
    onLeave(subscribe("central", (e) => {
      if (e.tenant === slug && typeof e.status === "string" && e.status !== page.tenant.status) void page.reload();
    }));
  },
});

class TenantPage {
  readonly message = h("div", { "aria-live": "polite" });

  constructor(readonly main: HTMLElement, public tenant: Tenant, readonly schema: Schemas["TenantSchemaState"] | null) {}

  get path() {
    return { path: { slug: this.tenant.slug } };
  }

  async reload(): Promise<void> {
    const res = await call(() => client.GET("/api/central/tenants/{slug}", { params: this.path }));
    if (res.data) this.tenant = res.data.tenant;
    this.render();
  }

  render(): void {
    const t = this.tenant;
    const superadmin = isSuperadmin();
    replace(this.main,
      h("h1", {}, `${t.name} (${t.slug})`),
      this.message,
      this.facts(),
      h("section", { "aria-labelledby": "actions-h" }, h("h2", { id: "actions-h" }, "Actions"), this.actions()),
      this.editForm(),
      this.inviteForm(),
      superadmin ? this.impersonateForm() : null,
      superadmin ? this.deleteForm() : null);
  }

  facts(): HTMLElement {
    const t = this.tenant;
    return h("section", { "aria-labelledby": "facts-h" }, h("h2", { id: "facts-h", class: "sr-only" }, "Facts"),
      definitions([
        ["Status", badge(t.status)],
        ["Server", serverLink(t.server)],
        ["Database", t.databaseName ? `${t.databaseName} on ${t.databaseHost}` : "—"],
        ["Domains", t.domains.length ? t.domains.join(", ") : "none"],
        ["Schema version", this.schemaFacts()],
        ["Created", when(t.createdAt)],
        ["Updated", when(t.updatedAt)],
        ["Last error", t.lastError ? h("span", { class: "error-text" }, t.lastError) : "none"],
      ]));
  }

  schemaFacts(): HTMLElement | string {
    const s = this.schema;
    if (!s) return String(this.tenant.schemaVersion);
    return table("Schema version by migration set", ["Set", "Version", "Latest", "Pending", "Error"],
      s.sets.map((x) => [x.set, x.schemaVersion, x.latestVersion, x.pending, x.lastError ?? ""]));
  }

  actions(): HTMLElement {
    const t = this.tenant;
    const out = h("div", { class: "row" });
    const act = (label: string, run: () => Promise<{ data?: Schemas["TenantAnswer"]; error?: unknown; response: Response }>, done: string) => {
      const b = button(label, () => busy(b, this.message, async () => {
        const res = await call(run);
        if (!res.data) return replace(this.message, alert(problem(res)));
        this.tenant = res.data.tenant;
        this.render();
        replace(this.message, alert(done, "info"));
      }), "secondary");
      out.append(b);
    };
    if (t.status === "active") act("Suspend", () => client.POST("/api/central/tenants/{slug}/suspend", { params: this.path }), `${t.slug} is suspended.`);
    if (t.status === "suspended") act("Resume", () => client.POST("/api/central/tenants/{slug}/resume", { params: this.path }), `${t.slug} is active again.`);
    if (t.status === "failed" || t.status === "provisioning") {
      act("Retry provisioning", () => client.POST("/api/central/tenants/{slug}/provision", { params: this.path }), `${t.slug} is provisioned.`);
    }
    if (t.status === "active" || t.status === "suspended") {
      act("Repair database account", () => client.POST("/api/central/tenants/{slug}/provision", { params: this.path }), `${t.slug}'s database account is redone.`);
    }
    if (!out.childElementCount) out.append(h("p", { class: "muted" }, `Nothing to do while the tenant is ${t.status}.`));
    return out;
  }

  editForm(): HTMLElement {
    const t = this.tenant;
    const message = h("div", {});
    const form = h("form", { class: "card", novalidate: true },
      h("h2", {}, "Name and domains"),
      message,
      field("Name", h("input", { name: "name", value: t.name, required: true })),
      field("Custom domains", h("input", { name: "domains", value: t.domains.join(", ") })),
      h("button", { type: "submit" }, "Save"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(form, message, async () => {
        const v = formValues(form);
        const body = { name: (v["name"] ?? "").trim(), domains: words(v["domains"] ?? "") };
        const res = await call(() => client.PATCH("/api/central/tenants/{slug}", { params: this.path, body }));
        if (!res.data) return replace(message, alert(problem(res)));
        this.tenant = res.data.tenant;
        this.render();
        replace(this.message, alert("Saved.", "info"));
      });
    });
    return form;
  }

  inviteForm(): HTMLElement {
    const message = h("div", {});
    const form = h("form", { class: "card", novalidate: true },
      h("h2", {}, "Invite a user"),
      h("p", { class: "muted" }, "Superadmins may invite anyone; other admins only while the tenant has no active tenant_admin."),
      message,
      field("Email to invite", h("input", { name: "email", type: "email", autocomplete: "off", required: true })),
      field("Role", select("role", ["tenant_admin", "member"])),
      h("button", { type: "submit" }, "Invite"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(form, message, async () => {
        const v = formValues(form);
        const body = { email: (v["email"] ?? "").trim(), role: v["role"] ?? "member" };
        const res = await call(() => client.POST("/api/central/tenants/{slug}/invitations", { params: this.path, body }));
        replace(message, res.data ? invitationLink(this.tenant.slug, res.data) : alert(problem(res)));
      });
    });
    return form;
  }

  impersonateForm(): HTMLElement {
    const message = h("div", {});
    const form = h("form", { class: "card", novalidate: true },
      h("h2", {}, "Act as a user"),
      h("p", { class: "muted" }, "Opens the tenant console as that user, recorded in both audit logs; Exit returns here."),
      message,
      field("User ID or email", h("input", { name: "user", autocomplete: "off", required: true })),
      h("button", { type: "submit" }, "Impersonate"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void busy(form, message, () => this.impersonate((formValues(form)["user"] ?? "").trim(), message));
    });
    return form;
  }

  async impersonate(user: string, message: HTMLElement): Promise<void> {
    if (!user) return replace(message, alert("Give the user's ID or email."));
    const body = user.includes("@") ? { email: user } : { userId: user };
    const res = await call(() => client.POST("/api/central/tenants/{slug}/impersonate", { params: this.path, body }));
    if (!res.data) return replace(message, alert(problem(res)));
    const admin = session();
    begin({ plane: "tenant", tenant: res.data.tenant.slug, access: res.data.access_token, refresh: "",
      email: res.data.user.email, actingAs: admin?.email ?? "a central admin" });
    navigate("/tenant");
  }

  deleteForm(): HTMLElement {
    const t = this.tenant;
    const purge = checkbox("Also drop its database and database user (purge): this cannot be undone", "purge");
    return confirmTyped({
      legend: `Delete ${t.slug}`, expected: t.slug, action: "Delete", extra: purge,
      act: async (message) => {
        const wipe = (purge.querySelector("input") as HTMLInputElement).checked;
        const res = await call(() => client.DELETE("/api/central/tenants/{slug}", { params: { ...this.path, query: { purge: wipe ? "true" : "false" } } }));
        if (res.response.status !== 204) return replace(message, alert(problem(res)));
        flash(wipe ? `Tenant ${t.slug} is deleted and purged.` : `Tenant ${t.slug} is deleted; its database is kept.`);
        navigate(tenantsPath);
      },
    });
  }
}
