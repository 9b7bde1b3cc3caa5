// The tenant console's home: who is logged in, and where they can go.
import { call, client } from "../../api";
import { link, routes } from "../../router";
import { alert, h, replace } from "../../ui";
import { can, failed } from "../../widgets";
import type { TenantPage } from "./index";

export const homePage: TenantPage = {
  path: "/tenant",
  nav: "Home",
  async render(main) {
    const res = await call(() => client.GET("/api/auth/me"));
    if (!res.data) return replace(main, h("h1", {}, "Home"), alert(failed("Could not load your account.", res)));
    const u = res.data.user;
    const places = routes().filter((r) => r.plane === "tenant" && r.nav && r.path !== "/tenant" && can(r.permission));
    replace(main, h("h1", {}, res.data.tenant.name),
      h("p", {}, `Logged in as ${u.email}${u.roles.length ? ` (${u.roles.join(", ")})` : ""}.`),
      h("ul", { class: "places" }, places.map((r) => h("li", {}, link(r.path, r.nav ?? "")))));
  },
};
