// Live updates: the central audit log, open on its newest page, shows an
// entry written meanwhile (a tenant created through the API) without a
// reload.
import { api, centralToken, check, loginCentral, run, visit, waitForMain } from "./lib.mjs";

run("audit-live", async (s) => {
  const page = await s.page();
  await loginCentral(page);
  await s.step("the Audit log page, open", async () => {
    await visit(page, "Audit log", "Central audit log");
    await page.evaluate(() => { window.__notReloaded = true; });
  });
  const slug = `live${Date.now().toString(36).slice(-6)}`;
  await s.step("a tenant created meanwhile", async () => {
    const res = await api("POST", "/api/central/tenants", { token: await centralToken(), body: { slug, name: "Live Co" } });
    check(res.status === 201, `creating the tenant answered ${res.status} ${res.text}`);
  });
  await s.step("its audit entry arrives without a reload", async () => {
    await waitForMain(page, new RegExp(`tenant\\.create[^\\n]*${slug}|${slug}[^\\n]*tenant\\.create`), 30_000);
    check(await page.evaluate(() => window.__notReloaded === true), "the page reloaded to show the entry");
  });
});
