// (d) A central admin creates a tenant with its first admin and sees it
// become active; its admin can then log in.
import { api, centralToken, check, control, eventually, input, loginCentral, run, settings, shown, submit, visit } from "./lib.mjs";

const slug = "wayne";
const admin = `bruce@${slug}.test`;

run("create-tenant", async (s) => {
  const page = await s.page();
  await loginCentral(page);
  await s.step("the Tenants page", async () => {
    await visit(page, "Tenants");
  });
  await s.step("create a tenant with its first admin", async () => {
    await control(page, "Create tenant").click();
    await input(page, /^slug/i).fill(slug);
    await input(page, /^(tenant )?name$/i).fill("Wayne Enterprises");
    await input(page, /email/i).fill(admin);
    await input(page, /password/i).fill(settings.password);
    await input(page, /first name/i).fill("Bruce");
    await input(page, /last name/i).fill("Wayne");
    await s.shot(page, "create-tenant");
    await submit(page, /create/i);
  });
  await s.step("it becomes active, on the page and in the API", async () => {
    await shown(page.locator("main").filter({ hasText: slug }).getByText(/\bactive\b/i));
    const token = await centralToken();
    await eventually("the tenant active in the API", async () =>
      (await api("GET", `/api/central/tenants/${slug}`, { token })).json?.tenant?.status === "active");
  });
  await s.step("its first admin logs in", async () => {
    const res = await api("POST", "/api/auth/login", { tenant: slug, body: { email: admin, password: settings.password } });
    check(res.status === 200, `the new admin's login answered ${res.status}: ${res.text}`);
  });
  await s.step("the list shows it", async () => {
    await visit(page, "Tenants");
    await shown(page.getByRole("link", { name: slug, exact: true }));
    await s.shot(page, "tenants");
  });
});
