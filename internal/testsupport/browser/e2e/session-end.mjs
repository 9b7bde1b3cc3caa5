// (k) A wrong, expired or revoked token anywhere leads back to the login
// page with a message in plain words, never to a blank page.
import { alertText, api, atLoginURL, check, consoleURL, loginCentral, loginTenant, need, plainWords, run, settings, shown, storedSession } from "./lib.mjs";

const tenant = need("TENANT");
const member = need("MEMBER_EMAIL");
const memberID = need("MEMBER_ID");

/** atLogin checks that page shows the login form with a message. */
async function atLogin(page) {
  await page.waitForURL(atLoginURL);
  await shown(page.getByLabel("Email", { exact: true }));
  return plainWords(await alertText(page));
}

run("session-end", async (s) => {
  await s.step("central: a wrong access token and a revoked refresh token", async () => {
    const page = await s.page();
    await loginCentral(page);
    const { refresh } = await storedSession(page);
    const out = await api("POST", "/api/central/auth/logout", { body: { refresh_token: refresh } });
    check(out.status === 204 || out.status === 200, `logout answered ${out.status}: ${out.text}`);
    // Every API call from now on carries a token Silo did not issue.
    await page.route("**/api/**", (route) =>
      route.continue({ headers: { ...route.request().headers(), authorization: "Bearer not.a.token" } }));
    await page.getByRole("navigation").getByRole("link").first().click();
    await atLogin(page);
    await page.unroute("**/api/**");
  });
  await s.step("central: a reload with a spoilt stored session", async () => {
    const page = await s.page();
    await loginCentral(page);
    await page.evaluate(() => {
      for (let i = 0; i < sessionStorage.length; i++) {
        const k = sessionStorage.key(i);
        if (!k?.startsWith("silo.")) continue;
        const v = JSON.parse(sessionStorage.getItem(k));
        sessionStorage.setItem(k, JSON.stringify({ ...v, refresh: "silo_rt_spoilt" }));
      }
    });
    await page.reload();
    await page.waitForURL(atLoginURL);
    await shown(page.getByLabel("Email", { exact: true }));
  });
  await s.step("a deep link without a session", async () => {
    const page = await s.page();
    await page.goto(consoleURL("/central"));
    await page.waitForURL(atLoginURL);
    await shown(page.getByLabel("Email", { exact: true }));
    await page.goto(consoleURL("/no/such/page"));
    const text = await page.locator("#app").innerText();
    check(text.trim().length > 0, "an unknown address shows a blank page");
  });
  await s.step("tenant: the user is deactivated mid-session", async () => {
    const page = await s.page();
    await loginTenant(page, tenant, member);
    const login = await api("POST", "/api/auth/login", { tenant, body: { email: `admin@${tenant}.test`, password: settings.password } });
    check(login.status === 200, `the tenant admin's login answered ${login.status}`);
    const off = await api("PATCH", `/api/users/${memberID}`, { tenant, token: login.json.access_token, body: { isActive: false } });
    check(off.status === 200, `deactivating the member answered ${off.status}: ${off.text}`);
    await page.getByRole("navigation").getByRole("link").first().click();
    await atLogin(page);
  });
});
