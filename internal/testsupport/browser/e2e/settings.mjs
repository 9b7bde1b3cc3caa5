// A tenant admin changes the tenant's display name on the Settings page:
// the console's header shows it at once, and again after a reload.
import { check, loginTenant, need, run, visit } from "./lib.mjs";

const slug = need("TENANT");
const email = need("TENANT_EMAIL");

run("settings", async (s) => {
  const page = await s.page();
  await loginTenant(page, slug, email);
  const brand = page.locator("header.bar .brand");
  await s.step("save a display name", async () => {
    await visit(page, "Settings");
    await page.getByLabel("Display name", { exact: true }).fill("Wayne Works");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText("Settings saved.").waitFor();
    await page.waitForFunction(() => document.querySelector("header.bar .brand")?.textContent?.includes("Wayne Works"));
  });
  await s.step("the header keeps it after a reload", async () => {
    await page.reload();
    await page.waitForFunction(() => document.querySelector("header.bar .brand")?.textContent?.includes("Wayne Works"));
    check((await brand.textContent())?.includes("Wayne Works"), "the header lost the display name");
  });
});
