// (f) A superadmin acts as a tenant user: the banner says so ("Acting as
// …"), and "Exit" ends it: back to the central session it interrupted, or
// to the login page, saying so either way.
import { alertText, atLoginURL, check, control, input, loginCentral, need, openTenant, plainWords, run, settled, shown } from "./lib.mjs";

const slug = need("TENANT");
const email = need("TENANT_EMAIL");
const userID = need("TENANT_USER_ID");

/** stored lists the sessions the page keeps in sessionStorage. */
function stored(page) {
  return page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("silo.")).map((k) => {
    try {
      return JSON.parse(sessionStorage.getItem(k) ?? "null");
    } catch {
      return null;
    }
  }));
}

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
    await settled(page);
  });
  await s.step("the banner says who acts as whom", async () => {
    const banner = await shown(page.getByRole("status").filter({ hasText: "Acting as" }));
    check(banner.includes(email), `the banner does not name ${email}: ${banner}`);
    await s.shot(page, "impersonation");
    // The impersonation token cannot be refreshed: nothing of it is kept
    // for a reload (the central session it interrupted may be).
    for (const kept of await stored(page)) {
      check(kept?.plane === "central" && !kept?.actingAs, `an impersonation session is kept in sessionStorage: ${JSON.stringify(kept)}`);
    }
  });
  await s.step("Exit ends it, saying so", async () => {
    await control(page, "Exit").click();
    await page.waitForURL((u) => /\/console\/central/.test(u.pathname) || atLoginURL.test(u.pathname + u.search));
    plainWords(await alertText(page, /stopped acting/i));
    check(!(await page.getByRole("status").filter({ hasText: "Acting as" }).count()), "the banner is still there");
  });
});
