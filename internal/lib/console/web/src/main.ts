// The console's entry point: resumes a session kept across a reload, then
// renders the route of the address, inside the layout of its plane.
import { acting, end, resume, session, stopActing, whenSessionEnds, type Session } from "./api";
import { applyBranding, brandingOf, brandMark } from "./branding";
import { base, leave, link, match, navigate, onNavigate, routes, type Route } from "./router";
import { flash, takeFlash } from "./notice";
import { alert, h, replace } from "./ui";
import { prepare } from "./widgets";
import "./stream";
import "./pages/login";
import "./pages/signup";
import "./pages/invite";
import "./pages/setup";
import "./pages/central/index";
import "./pages/tenant/index";

const app = document.getElementById("app") as HTMLElement;
/** generation counts renders: a render overtaken by a newer one stops touching the page. */
let generation = 0;

/** home is the first page of a session's plane. */
function home(s: Session | null): string {
  if (!s) return "/login";
  return s.plane === "tenant" ? "/tenant" : "/central";
}

/** show renders path (under /console). */
async function show(path: string): Promise<void> {
  leave();
  const mine = ++generation;
  const found = match(path);
  const s = session();
  if (!found) {
    replace(app, h("main", { id: "main" }, h("h1", {}, "Not found"), h("p", {}, "The console has no such page."),
      link(home(s), "Back to the console")));
    return;
  }
  const { route, params } = found;
  if (route.plane !== "public" && s?.plane !== route.plane) {
    if (s) {
      flash("That page belongs to the other console: log in there to see it.");
      navigate(home(s), true);
    } else {
      const wanted = path === home(null) ? "" : `?next=${encodeURIComponent(path + location.search)}`;
      navigate(`/login${wanted}`, true);
    }
    return;
  }
  if (!(await prepare(route.plane))) return; // the tenant user's permissions and branding, once per session
  if (mine !== generation) return;
  const main = h("main", { id: "main", tabindex: "-1" });
  // Outside main, which pages replace whole.
  const note = takeFlash();
  const notes = h("div", { class: "notices" }, note ? alert(note.text, note.kind) : null);
  const top = route.plane === "public" ? [] : await header(s, route);
  if (mine !== generation) return;
  replace(app, top, notes, main);
  if (route.plane !== "tenant") applyBranding(null); // a public page applies the branding of its address itself
  try {
    await route.render(main, params, new URLSearchParams(location.search));
  } catch (err) {
    main.append(alert(err instanceof TypeError ? "Silo could not be reached. Check your connection and reload the page."
      : `Something went wrong: ${err instanceof Error ? err.message : String(err)}`));
  }
  if (mine !== generation) return;
  document.title = `${main.querySelector("h1")?.textContent ?? "Silo"} · Silo console`;
  (main.querySelector<HTMLElement>("[data-autofocus]") ?? main).focus();
}

/** visible says whether s may see route in the navigation. */
function visible(r: Route, s: Session): boolean {
  if (!r.nav || r.plane !== s.plane) return false;
  if (r.superadmin && s.role !== "superadmin") return false;
  return !(r.permission && s.permissions && !s.permissions.includes(r.permission));
}

/** section is the navigation entry a route belongs to: the longest whose path starts it. */
function section(items: Route[], current: Route): Route | undefined {
  const within = (r: Route) => current.path === r.path || current.path.startsWith(`${r.path}/`);
  return items.filter(within).sort((a, b) => b.path.length - a.path.length)[0];
}

async function header(s: Session | null, current: Route): Promise<HTMLElement[]> {
  if (!s) return [];
  const out: HTMLElement[] = [];
  if (s.actingAs) {
    out.push(h("div", { class: "banner", role: "status" },
      h("span", {}, `Acting as ${s.email} in ${s.tenant}, as central admin ${s.actingAs}.`),
      h("button", { type: "button", class: "secondary", onclick: () => void exitImpersonation() }, "Exit")));
  }
  const nav = routes().filter((r) => visible(r, s));
  const here = section(nav, current);
  let brand: HTMLElement = h("span", { class: "brand" }, "Silo · central");
  if (s.plane === "tenant") {
    const b = await brandingOf(s.tenant);
    applyBranding(b);
    brand = h("span", { class: "brand" }, b ? brandMark(b, s.tenant) : `Silo · ${s.tenant}`);
  }
  out.push(h("header", { class: "bar" },
    brand,
    h("nav", { "aria-label": "Sections" }, nav.map((r) => {
      const a = link(r.path, r.nav ?? "");
      if (r === here) a.setAttribute("aria-current", "page");
      return a;
    })),
    h("span", { class: "spacer" }),
    h("span", { class: "muted" }, s.email),
    h("button", { type: "button", class: "secondary", onclick: () => void logout() }, "Log out")));
  return out;
}

async function logout(): Promise<void> {
  await end();
  applyBranding(null);
  flash("You logged out.");
  navigate("/login");
}

/** exitImpersonation ends the borrowed tenant session: back to the central one it interrupted. */
async function exitImpersonation(): Promise<void> {
  const tenant = session()?.tenant ?? "";
  if (acting() && stopActing()) {
    flash(`You stopped acting as a user of ${tenant}.`);
    navigate(`/central/tenants/${encodeURIComponent(tenant)}`);
    return;
  }
  await end();
  flash("You stopped acting as the tenant user. Log in again as a central admin.");
  navigate("/login");
}

whenSessionEnds((message) => {
  flash(message, "error");
  const s = session();
  if (s) return navigate(home(s));
  // Back where the session ended, once logged in again.
  const here = location.pathname.slice(base.length) + location.search;
  navigate(here.startsWith("/login") ? "/login" : `/login?next=${encodeURIComponent(here)}`);
});
onNavigate((path) => void show(path));
window.addEventListener("popstate", () => void show(location.pathname.slice(base.length) || "/"));

void (async () => {
  const resumed = await resume();
  if (resumed.message) flash(resumed.message, "error");
  let path = location.pathname.slice(base.length) || "/";
  if (path === "/") path = home(session());
  history.replaceState(null, "", base + path + location.search);
  await show(path);
})();
