// (e) A central admin suspends a tenant; its users are refused at login in
// plain words; resuming lets them in again.
import { alertText, api, atLoginURL, centralToken, check, consoleURL, control, eventually, loginCentral, loginTenant, need, openTenant, plainWords, run, settings, shown, submitLogin } from "./lib.mjs";

const slug = need("TENANT");
const email = need("TENANT_EMAIL");

async function status(token) {
  return (await api("GET", `/api/central/tenants/${slug}`, { token })).json?.tenant?.status;
}

run("suspend-tenant", async (s) => {
  const page = await s.page();
  page.on("dialog", (d) => void d.accept());
  const token = await centralToken();
  await loginCentral(page);
  await s.step("Suspend on the tenant's page", async () => {
    await openTenant(page, slug);
    await control(page, "Suspend").click();
    await shown(page.locator("main").getByText(/\bsuspended\b/i));
    await eventually("the tenant suspended in the API", async () => (await status(token)) === "suspended");
    await s.shot(page, "tenant-suspended");
  });
  await s.step("its user is refused at login, in plain words", async () => {
    const user = await s.page();
    await user.goto(consoleURL("/login"));
    await submitLogin(user, { email, password: settings.password, tenant: slug });
    const msg = plainWords(await alertText(user));
    check(/suspended/i.test(msg), `the message does not say the tenant is suspended: ${msg}`);
    check(atLoginURL.test(user.url()), `left the login page: ${user.url()}`);
  });
  await s.step("Resume lets them in again", async () => {
    await control(page, "Resume").click();
    await eventually("the tenant active in the API", async () => (await status(token)) === "active");
    await shown(page.locator("main").getByText(/\bactive\b/i));
    const user = await s.page();
    await loginTenant(user, slug, email);
  });
});
