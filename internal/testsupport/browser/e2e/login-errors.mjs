// (c) A wrong password, a missing tenant and an unknown tenant are told in
// plain words, and the user stays on the login form.
import { alertText, atLoginURL, check, consoleURL, plainWords, run, settings, submitLogin } from "./lib.mjs";

const tenant = process.env.TENANT ?? "acme";

run("login-errors", async (s) => {
  const page = await s.page();
  await page.goto(consoleURL("/login"));
  const stays = () => check(atLoginURL.test(page.url()), `left the login page: ${page.url()}`);

  await s.step("a central admin's wrong password", async () => {
    await submitLogin(page, { email: settings.centralEmail, password: "not the password", central: true });
    const msg = plainWords(await alertText(page));
    check(/password/i.test(msg), `the message does not speak of the password: ${msg}`);
    stays();
  });
  await s.step("a tenant user's wrong password", async () => {
    await page.goto(consoleURL("/login"));
    await submitLogin(page, { email: `admin@${tenant}.test`, password: "not the password", tenant });
    const msg = plainWords(await alertText(page));
    check(/password/i.test(msg), `the message does not speak of the password: ${msg}`);
    await s.shot(page, "login-error");
    stays();
  });
  await s.step("no tenant named: Tenant ID is required", async () => {
    await page.goto(consoleURL("/login"));
    await submitLogin(page, { email: `admin@${tenant}.test`, password: settings.password, tenant: "" });
    const msg = await alertText(page, "Tenant ID is required");
    check(msg === "Tenant ID is required", `the message is ${JSON.stringify(msg)}`);
    stays();
  });
  await s.step("a tenant that does not exist", async () => {
    await page.goto(consoleURL("/login"));
    await submitLogin(page, { email: `admin@${tenant}.test`, password: settings.password, tenant: "nosuchtenant" });
    const msg = plainWords(await alertText(page));
    check(/tenant/i.test(msg), `the message does not speak of the tenant: ${msg}`);
    stays();
  });
});
