// The tenant console's pages (a file each, registered here).
import { call, client, problem } from "../../api";
import { register } from "../../router";
import { alert, h, replace } from "../../ui";

register({
  path: "/tenant",
  plane: "tenant",
  nav: "Home",
  async render(main) {
    const res = await call(() => client.GET("/api/auth/me", { params: { header: {} } }));
    if (!res.data) return replace(main, h("h1", {}, "Home"), alert(problem(res)));
    const u = res.data.user;
    replace(main, h("h1", {}, res.data.tenant.name), h("p", {}, `Logged in as ${u.email} (${u.roles.join(", ")}).`));
  },
});
