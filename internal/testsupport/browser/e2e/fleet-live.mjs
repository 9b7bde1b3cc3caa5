// (j) A fleet run's progress appears live: the page updates as tenants are
// migrated, without a reload.
import { control, loginCentral, nav, run, shown, waitForMain } from "./lib.mjs";

run("fleet-live", async (s) => {
  const page = await s.page();
  await loginCentral(page);
  await s.step("start a fleet run", async () => {
    await nav(page, /fleet|migrations/i).click();
    await page.evaluate(() => { window.__notReloaded = true; });
    await control(page, /^(run|start)/i).click();
  });
  await s.step("its progress arrives without a reload", async () => {
    await shown(page.getByRole("progressbar").or(page.getByRole("status")));
    await waitForMain(page, /\b(done|finished|complete)\b/i, 60_000);
    const same = await page.evaluate(() => window.__notReloaded === true);
    if (!same) throw new Error("the page reloaded to show the progress");
    await s.shot(page, "fleet");
  });
});
