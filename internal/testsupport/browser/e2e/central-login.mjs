// (a) A central admin logs in with the "Login as Central Admin" checkbox,
// by keyboard alone; the session outlives a reload and ends at "Log out".
import { atLoginURL, check, consoleURL, run, settings, shown, tenantField } from "./lib.mjs";

run("central-login", async (s) => {
  const page = await s.page();
  await s.step("the console's root leads to the login form", async () => {
    await page.goto(`${settings.url}/`);
    await page.waitForURL(atLoginURL);
    await shown(page.getByRole("heading", { name: "Log in" }));
    await shown(tenantField(page));
    await s.shot(page, "login");
  });
  await s.step("the checkbox hides the Tenant ID field", async () => {
    await page.getByLabel("Login as Central Admin").check();
    await tenantField(page).waitFor({ state: "hidden" });
    await page.getByLabel("Login as Central Admin").uncheck();
    await shown(tenantField(page));
  });
  await s.step("logging in by keyboard alone", async () => {
    await page.getByLabel("Email", { exact: true }).focus();
    await page.keyboard.type(settings.centralEmail);
    await page.keyboard.press("Tab");
    await page.keyboard.type(settings.password);
    await page.keyboard.press("Tab");
    await page.keyboard.press("Space"); // Login as Central Admin
    check(await page.getByLabel("Login as Central Admin").isChecked(), "Space on the checkbox did not check it");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/console\/central$/);
    await shown(page.getByRole("navigation").getByRole("link", { name: "Tenants" }).or(page.getByRole("heading", { level: 1 })));
    await shown(page.getByText(settings.centralEmail));
  });
  await s.step("a reload keeps the session", async () => {
    await page.reload();
    await page.waitForURL(/\/console\/central$/);
    await shown(page.getByRole("button", { name: "Log out" }));
    await s.shot(page, "central");
  });
  await s.step("Log out ends it, for good", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(atLoginURL);
    await page.goto(consoleURL("/central"));
    await page.waitForURL(atLoginURL);
    await shown(page.getByLabel("Email", { exact: true }));
  });
  await s.step("the login form fits a phone's screen", async () => {
    const phone = await s.page({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.goto(consoleURL("/login"));
    await shown(phone.getByRole("button", { name: "Log in" }));
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `the login page is ${overflow}px wider than a phone's screen`);
    await s.shot(phone, "login-phone");
  });
});
