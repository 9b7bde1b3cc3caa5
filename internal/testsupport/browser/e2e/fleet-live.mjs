// (j) A fleet run's progress appears live: the Migrations page, open while
// an operator runs "silo migrate tenants up", shows the run without a
// reload (the events backend streams it).
import { ask, check, loginCentral, run, visit, waitForMain } from "./lib.mjs";

run("fleet-live", async (s) => {
  const page = await s.page();
  await loginCentral(page);
  await s.step("the Migrations page, open", async () => {
    await visit(page, "Migrations");
    await page.evaluate(() => { window.__notReloaded = true; });
  });
  await s.step("a fleet run meanwhile", () => ask("fleet-run"));
  await s.step("its progress arrives without a reload", async () => {
    await waitForMain(page, /\b(fleet run|migration run)\b[^\n]*\b(finished|done|complete[d]?)\b/i, 30_000);
    check(await page.evaluate(() => window.__notReloaded === true), "the page reloaded to show the progress");
    await s.shot(page, "fleet");
  });
});
