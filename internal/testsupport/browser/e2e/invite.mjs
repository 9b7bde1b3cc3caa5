// (g) A tenant admin invites a user, who accepts in a second browser
// (/console/invite?token=…) and can then log in.
import { api, atLoginURL, check, control, input, loginTenant, need, run, settings, settled, shown, submit, tenantField, visit } from "./lib.mjs";

const slug = need("TENANT");
const email = need("TENANT_EMAIL");
const invitee = `carol@${slug}.test`;

run("invite", async (s) => {
  const page = await s.page();
  await loginTenant(page, slug, email);
  let link;
  await s.step("Invite on the Invitations page", async () => {
    await visit(page, "Invitations");
    await input(page, "Email").fill(invitee);
    await page.getByRole("combobox", { name: /^Role/ }).selectOption("member");
    await control(page, "Invite").click();
    link = await page.getByLabel("Invitation link").inputValue();
    check(/\/console\/invite\?token=silo_inv_/.test(link), `the invitation link is ${link}`);
    await shown(page.getByRole("cell", { name: invitee }));
    await s.shot(page, "invitations");
  });
  await s.step("the invitee accepts in another browser", async () => {
    const other = await s.page();
    await other.goto(new URL(link, settings.url).toString());
    await settled(other);
    const tenant = tenantField(other);
    if (await tenant.isVisible() && !(await tenant.inputValue())) await tenant.fill(slug);
    await input(other, /first name/i).fill("Carol");
    await input(other, /last name/i).fill("Shaw");
    for (const p of await other.getByLabel(/password/i).all()) await p.fill(settings.password);
    await s.shot(other, "invite-accept");
    await settled(other);
    await submit(other, /accept|join|create/i);
    // The invitee is logged in at once, or sent to log in.
    await other.waitForURL((u) => u.pathname.startsWith("/console/tenant") || atLoginURL.test(u.pathname + u.search));
    if (other.url().includes("/console/tenant")) await shown(other.getByText(invitee));
  });
  await s.step("the invitee logs in", async () => {
    const res = await api("POST", "/api/auth/login", { tenant: slug, body: { email: invitee, password: settings.password } });
    check(res.status === 200, `the invitee's login answered ${res.status}: ${res.text}`);
    const third = await s.page();
    await loginTenant(third, slug, invitee);
  });
});
