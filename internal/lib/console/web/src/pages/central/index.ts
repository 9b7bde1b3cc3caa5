// The central console's pages (a file each, registered here).
import { call, client, problem } from "../../api";
import { register } from "../../router";
import { alert, h, replace } from "../../ui";

register({
  path: "/central",
  plane: "central",
  nav: "Overview",
  async render(main) {
    const res = await call(() => client.GET("/api/central/migrations/status"));
    if (!res.data) return replace(main, h("h1", {}, "Overview"), alert(problem(res)));
    const t = res.data.totals;
    replace(main, h("h1", {}, "Overview"),
      h("p", {}, `${t.tenants} tenants: ${t.upToDate} up to date, ${t.behind} behind, ${t.failed} failed.`));
  },
});
