// Invitations: the tenant's invitations, inviting someone with a role
// (the link to accept it is shown once, to copy), and revoking one that is
// still pending.
import { call, client, session } from "../../api";
import { base } from "../../router";
import type { components } from "../../schema";
import { alert, field, h, replace } from "../../ui";
import { busy, copyBox, emptyRow, failed, say, table, when } from "../../widgets";
import type { TenantPage } from "./index";

type Invitation = components["schemas"]["Invitation"];

export const invitationsPage: TenantPage = {
  path: "/tenant/invitations",
  nav: "Invitations",
  permission: "users:write",
  async render(main) {
    const messages = h("div", {});
    const body = h("tbody", {});
    const load = async (): Promise<void> => {
      const res = await call(() => client.GET("/api/invitations"));
      if (!res.data) {
        replace(body);
        return say(messages, failed("Could not list the invitations.", res));
      }
      const list = res.data.invitations;
      replace(body, list.length ? list.map((i) => invitationRow(i, messages, load)) : emptyRow(6, "No invitations yet."));
    };
    const rolesRes = await call(() => client.GET("/api/roles"));
    const roles = rolesRes.data?.roles.map((r) => r.name) ?? ["member"];
    replace(main, h("h1", {}, "Invitations"), inviteForm(roles, load), messages,
      table("Invitations", ["Email", "Role", "Status", "Sent", "Expires", "Actions"], body));
    await load();
  },
};

function invitationRow(i: Invitation, messages: HTMLElement, reload: () => Promise<void>): HTMLTableRowElement {
  const actions = h("td", { class: "actions" });
  if (i.status === "pending") {
    const revoke = h("button", { type: "button", class: "danger" }, "Revoke");
    revoke.addEventListener("click", () => void busy(revoke, null, async () => {
      const res = await call(() => client.DELETE("/api/invitations/{id}", { params: { path: { id: i.id } } }));
      if (res.response.status !== 204) return say(messages, failed(`Could not revoke the invitation of ${i.email}.`, res));
      say(messages, `Revoked the invitation of ${i.email}.`, "info");
      await reload();
    }));
    actions.append(revoke);
  }
  return h("tr", {}, h("td", {}, i.email), h("td", {}, i.role), h("td", {}, i.status),
    h("td", {}, when(i.createdAt)), h("td", {}, when(i.expiresAt)), actions);
}

/** inviteLink is the console's page where the invitee accepts with token. */
function inviteLink(token: string): string {
  const q = new URLSearchParams({ token });
  const slug = session()?.tenant;
  if (slug) q.set("tenant", slug);
  return `${location.origin}${base}/invite?${q.toString()}`;
}

function inviteForm(roles: string[], reload: () => Promise<void>): HTMLElement {
  const email = h("input", { type: "email", name: "email", autocomplete: "off", required: true });
  const role = h("select", { name: "role", required: true },
    roles.map((r) => h("option", { value: r, selected: r === "member" }, r)));
  const messages = h("div", {});
  const created = h("div", {});
  const submit = h("button", { type: "submit" }, "Invite");
  const form = h("form", { class: "card", novalidate: true }, h("h2", {}, "Invite someone"), messages,
    field("Email", email), field("Role", role), submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, null, async () => {
      const body = { email: email.value.trim(), role: role.value };
      const res = await call(() => client.POST("/api/invitations", { body }));
      if (!res.data) return say(messages, failed(`Could not invite ${body.email || "them"}.`, res));
      replace(messages);
      email.value = "";
      const inv = res.data.invitation;
      replace(created, h("div", { class: "card" },
        h("h2", {}, "New invitation"),
        alert(`Send this link to ${inv.email}: it is shown only now. It makes them ${inv.role} and expires ${when(inv.expiresAt)}.`, "info"),
        copyBox("Invitation link", inviteLink(res.data.token), "Copy link")));
      created.querySelector("input")?.focus();
      await reload();
    });
  });
  return h("div", {}, form, created);
}
