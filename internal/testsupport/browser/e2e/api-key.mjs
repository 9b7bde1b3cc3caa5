// (h) A tenant admin creates an API key: it is shown once, works, and is
// nowhere on the page afterwards (the list shows its name only).
import { api, check, control, input, loginTenant, mainText, nav, need, run, shown, submit, waitForMain } from "./lib.mjs";

const slug = need("TENANT");
const email = need("TENANT_EMAIL");

run("api-key", async (s) => {
  const page = await s.page();
  await loginTenant(page, slug, email);
  let key;
  await s.step("Create key on the API keys page", async () => {
    await nav(page, "API keys").click();
    await control(page, "Create key").click();
    await input(page, /name/i).fill("deploy");
    const read = page.getByLabel("data:read", { exact: true });
    if (await read.count()) await read.first().check();
    await submit(page, /create/i);
    [key] = await waitForMain(page, /\bsilo_(?!inv_)[A-Za-z0-9_-]{16,}/);
    await s.shot(page, "api-key-created");
  });
  await s.step("the key works", async () => {
    const res = await api("GET", "/api/collections", { tenant: slug, token: key });
    check(res.status !== 401, `the new key is refused: ${res.status} ${res.text}`);
  });
  await s.step("it is not shown again", async () => {
    await nav(page, "Users").click();
    await nav(page, "API keys").click();
    await shown(page.getByText("deploy"));
    check(!(await mainText(page)).includes(key), "the key is on the page again");
    await page.reload();
    await shown(page.getByText("deploy"));
    check(!(await mainText(page)).includes(key), "the key is on the page after a reload");
    await s.shot(page, "api-keys");
  });
});
