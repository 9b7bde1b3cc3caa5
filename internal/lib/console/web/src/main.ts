// The console's entry point: resumes a session kept across a reload, then
// renders the route of the address, inside the layout of its plane.
import { end, resume, session, whenSessionEnds } from "./api";
import { base, link, match, navigate, onNavigate, routes } from "./router";
import { alert, h, replace } from "./ui";
import { brand, can, prepare } from "./widgets";
import "./pages/login";
import "./pages/central/index";
import "./pages/tenant/index";

const app = document.getElementById("app") as HTMLElement;
let notice = "";

/** show renders path (under /console). */
async function show(path: string): Promise<void> {
  const found = match(path);
  const s = session();
  if (!found) {
    replace(app, h("main", {}, h("h1", {}, "Not found"), link("/", "Back to the console")));
    return;
  }
  const { route, params } = found;
  if (route.plane !== "public" && s?.plane !== route.plane) {
    navigate("/login");
    return;
  }
  if (!(await prepare(route.plane))) return;
  const main = h("main", { id: "main", tabindex: "-1" });
  if (notice) {
    main.append(alert(notice, "info"));
    notice = "";
  }
  replace(app, route.plane === "public" ? [] : header(), main);
  try {
    await route.render(main, params, new URLSearchParams(location.search));
  } catch (err) {
    main.append(alert(`Something went wrong: ${err instanceof Error ? err.message : String(err)}`));
  }
  document.title = `${main.querySelector("h1")?.textContent ?? "Silo"} · Silo console`;
  main.focus();
}

function header(): HTMLElement[] {
  const s = session();
  if (!s) return [];
  const items = routes().filter((r) => r.nav && r.plane === s.plane && can(r.permission));
  const out: HTMLElement[] = [];
  if (s.actingAs) {
    out.push(h("div", { class: "banner", role: "status" },
      h("span", {}, `Acting as ${s.email} in ${s.tenant}, as central admin ${s.actingAs}.`),
      h("button", { type: "button", class: "secondary", onclick: () => void exitImpersonation() }, "Exit")));
  }
  out.push(h("header", { class: "bar" },
    h("span", { class: "brand" }, s.plane === "central" ? "Silo · central" : brand(s.tenant)),
    h("nav", { "aria-label": "Sections" }, items.map((r) => link(r.path, r.nav ?? ""))),
    h("span", { class: "spacer" }),
    h("span", { class: "muted" }, s.email),
    h("button", { type: "button", class: "secondary", onclick: () => void logout() }, "Log out")));
  return out;
}

async function logout(): Promise<void> {
  await end();
  navigate("/login");
}

/** exitImpersonation ends the borrowed tenant session. */
async function exitImpersonation(): Promise<void> {
  await end();
  notice = "You stopped acting as the tenant user. Log in again as a central admin.";
  navigate("/login");
}

whenSessionEnds((message) => {
  notice = message;
  navigate("/login");
});
onNavigate((path) => void show(path));
window.addEventListener("popstate", () => void show(location.pathname.slice(base.length) || "/"));

void (async () => {
  await resume();
  let path = location.pathname.slice(base.length) || "/";
  if (path === "/") path = session()?.plane === "tenant" ? "/tenant" : session() ? "/central" : "/login";
  history.replaceState(null, "", base + path + location.search);
  await show(path);
})();
