// (b) A tenant user logs in naming the tenant in the Tenant ID field, on
// a host that names no tenant.
import { check, consoleURL, run, settled, shown, submitLogin, settings, visit } from "./lib.mjs";

const tenant = process.env.TENANT ?? "acme";
const email = process.env.TENANT_EMAIL ?? `admin@${tenant}.test`;

run("tenant-login-field", async (s) => {
  const page = await s.page();
  await s.step("log in with the Tenant ID field", async () => {
    await page.goto(consoleURL("/login"));
    await submitLogin(page, { email, password: settings.password, tenant });
    await page.waitForURL(/\/console\/tenant$/);
    await shown(page.getByText(email));
    await shown(page.getByRole("heading", { level: 1 }));
    await settled(page);
    await s.shot(page, "tenant");
  });
  await s.step("the Users page lists the admin", async () => {
    await visit(page, "Users");
    await shown(page.getByRole("cell", { name: email }));
    await s.shot(page, "users");
  });
  await s.step("the session is the tenant's, not the central plane's", async () => {
    await page.goto(consoleURL("/central"));
    await page.waitForURL(/\/console\/(login|tenant)$/);
    check(!/\/console\/central/.test(page.url()), "a tenant session reached a central page");
  });
});
