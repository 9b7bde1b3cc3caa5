// (i) Two browsers edit one record: the first save wins, the second meets
// 412 and says so in plain words, changing nothing.
import { alertText, api, check, control, eventually, loginTenant, need, plainWords, run, settings, settled, visit } from "./lib.mjs";

const slug = need("TENANT");
const email = need("TENANT_EMAIL");
const collection = need("COLLECTION");
const id = need("RECORD_ID");

async function openCollection(page) {
  await loginTenant(page, slug, email);
  await visit(page, "Records");
  await page.getByRole("link", { name: collection, exact: true }).click();
  await page.getByRole("link", { name: id, exact: true }).waitFor();
  return page;
}

async function openRecord(page) {
  await page.getByRole("link", { name: id, exact: true }).click();
  await page.getByRole("heading", { name: "Record", exact: true, level: 1 }).waitFor();
  await settled(page);
  return page.getByLabel("Data (JSON)", { exact: true });
}

async function stored() {
  const login = await api("POST", "/api/auth/login", { tenant: slug, body: { email, password: settings.password } });
  return (await api("GET", `/api/collections/${collection}/records/${id}`, { tenant: slug, token: login.json.access_token })).json?.record;
}

run("record-conflict", async (s) => {
  const first = await s.page();
  const second = await s.page();
  const a = await s.step("the record open in two browsers", async () => {
    await openCollection(first);
    await settled(first);
    await s.shot(first, "records");
    return openRecord(first);
  });
  const b = await openRecord(await openCollection(second));
  const title = JSON.parse(await a.inputValue()).title;
  await s.step("the first save goes through", async () => {
    await a.fill(JSON.stringify({ title, done: true }));
    await control(first, "Save").click();
    await alertText(first, /saved/i);
    await eventually("version 2 stored", async () => (await stored())?.version === 2);
  });
  await s.step("the second meets the change, in plain words", async () => {
    await b.fill(JSON.stringify({ title: "Someone else's edit", done: false }));
    await control(second, "Save").click();
    plainWords(await alertText(second, /changed/i));
    await s.shot(second, "record-conflict");
    const rec = await stored();
    check(rec.version === 2 && rec.data.done === true, `the second save changed the record: ${JSON.stringify(rec)}`);
  });
});
