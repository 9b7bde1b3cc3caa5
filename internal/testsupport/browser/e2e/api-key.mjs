// (h) A tenant admin creates an API key: it is shown once, works, and is
// nowhere on the page afterwards (the list shows its name and prefix only).
import { api, check, control, loginTenant, mainText, need, run, settled, shown, visit } from "./lib.mjs";

const slug = need("TENANT");
const email = need("TENANT_EMAIL");

run("api-key", async (s) => {
  const page = await s.page();
  await loginTenant(page, slug, email);
  let key;
  await s.step("Create key on the API keys page", async () => {
    await visit(page, "API keys");
    await page.getByLabel("Name", { exact: true }).fill("deploy");
    await page.getByLabel("data:read", { exact: true }).check();
    await control(page, "Create key").click();
    key = await page.getByLabel("API key", { exact: true }).inputValue();
    check(/^silo_/.test(key), `the key shown is ${JSON.stringify(key)}`);
    await shown(page.getByRole("cell", { name: "deploy" }));
    await s.shot(page, "api-key-created");
  });
  await s.step("the key works", async () => {
    const res = await api("GET", "/api/collections", { tenant: slug, token: key });
    check(res.status === 200, `the new key (data:read) is refused: ${res.status} ${res.text}`);
  });
  await s.step("it is not shown again", async () => {
    await visit(page, "Users");
    await visit(page, "API keys");
    await shown(page.getByRole("cell", { name: "deploy" }));
    check(!(await mainText(page)).includes(key), "the key is on the page again");
    await page.reload();
    await shown(page.getByRole("cell", { name: "deploy" }));
    await settled(page);
    check(!(await mainText(page)).includes(key), "the key is on the page after a reload");
    await s.shot(page, "api-keys");
  });
});
