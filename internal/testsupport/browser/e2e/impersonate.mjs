// (f) A superadmin acts as a tenant user: the banner says so ("Acting as
// …"), and "Exit" ends it, back at the login page.
import { alertText, check, control, input, loginCentral, need, openTenant, plainWords, run, shown } from "./lib.mjs";

const slug = need("TENANT");
const email = need("TENANT_EMAIL");
const userID = need("TENANT_USER_ID");

run("impersonate", async (s) => {
  const page = await s.page();
  page.on("dialog", (d) => void d.accept());
  await loginCentral(page);
  await s.step("Impersonate from the tenant's page", async () => {
    await openTenant(page, slug);
    await control(page, "Impersonate").click();
    // Either the page lists the tenant's users, or it asks which one.
    const who = input(page, /user/i);
    if (await who.isVisible().catch(() => false)) {
      await who.fill(userID);
      await page.locator("form").getByRole("button", { name: "Impersonate" }).click();
    }
    await page.waitForURL(/\/console\/tenant/);
  });
  await s.step("the banner says who acts as whom", async () => {
    const banner = await shown(page.getByRole("status").filter({ hasText: "Acting as" }));
    check(banner.includes(email), `the banner does not name ${email}: ${banner}`);
    await s.shot(page, "impersonation");
    const kept = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("silo.")).length);
    check(kept === 0, "an impersonation session was kept in sessionStorage");
  });
  await s.step("Exit ends it", async () => {
    await control(page, "Exit").click();
    await page.waitForURL(/\/console\/login$/);
    plainWords(await alertText(page));
    check(!(await page.getByRole("status").filter({ hasText: "Acting as" }).count()), "the banner is still there");
  });
});
