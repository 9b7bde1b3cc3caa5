// (g) A tenant admin invites a user, who accepts in a second browser
// (/console/invite?token=…) and can then log in.
import { api, check, control, input, loginTenant, nav, need, run, settings, shown, submit, waitForMain } from "./lib.mjs";

const slug = need("TENANT");
const email = need("TENANT_EMAIL");
const invitee = `carol@${slug}.test`;

run("invite", async (s) => {
  const page = await s.page();
  await loginTenant(page, slug, email);
  let link;
  await s.step("Invite on the Users page", async () => {
    await nav(page, "Users").click();
    await shown(page.getByText(email));
    await s.shot(page, "users");
    await control(page, "Invite").click();
    await input(page, /email/i).fill(invitee);
    const role = input(page, /role/i);
    if (await role.evaluate((e) => e.tagName === "SELECT")) await role.selectOption({ label: "member" });
    else await role.fill("member");
    await submit(page, /invite|send/i);
    const [found] = await waitForMain(page, /(https?:\/\/[^\s"']+)?\/console\/invite\?token=silo_inv_[^\s"'&]+(&[^\s"']*)?/);
    link = new URL(found, settings.url).toString();
  });
  await s.step("the invitee accepts in another browser", async () => {
    const other = await s.page();
    await other.goto(link);
    const tenantField = other.getByLabel("Tenant ID", { exact: true });
    if (await tenantField.isVisible().catch(() => false)) await tenantField.fill(slug);
    await input(other, /first name/i).fill("Carol");
    await input(other, /last name/i).fill("Shaw");
    for (const p of await other.getByLabel(/password/i).all()) await p.fill(settings.password);
    await s.shot(other, "invite-accept");
    await submit(other, /accept|join|create/i);
    await shown(other.getByRole("alert").or(other.getByRole("heading", { name: "Log in" })));
  });
  await s.step("the invitee logs in", async () => {
    const res = await api("POST", "/api/auth/login", { tenant: slug, body: { email: invitee, password: settings.password } });
    check(res.status === 200, `the invitee's login answered ${res.status}: ${res.text}`);
    const third = await s.page();
    await loginTenant(third, slug, invitee);
  });
});
