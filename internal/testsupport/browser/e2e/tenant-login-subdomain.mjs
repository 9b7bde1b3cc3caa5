// (b) On the tenant's own subdomain (acme.silo.test) the host names the
// tenant: a user logs in with email and password only.
import { check, run, shown, submitLogin, settings, tenantURL } from "./lib.mjs";

const tenant = process.env.TENANT ?? "acme";
const email = process.env.TENANT_EMAIL ?? `admin@${tenant}.test`;

run("tenant-login-subdomain", async (s) => {
  const page = await s.page();
  await s.step("log in on the tenant's subdomain, no Tenant ID typed", async () => {
    await page.goto(tenantURL(tenant, "/console/login"));
    await submitLogin(page, { email, password: settings.password });
    await page.waitForURL(/\/console\/tenant$/);
    check(new URL(page.url()).hostname === `${tenant}.${settings.baseDomain}`, `left the tenant's host: ${page.url()}`);
    await shown(page.getByText(email));
  });
  await s.step("a reload there keeps the session", async () => {
    await page.reload();
    await page.waitForURL(/\/console\/tenant$/);
    await shown(page.getByText(email));
  });
});
