// What every browser scenario of the console shares: the settings the Go
// test passes by environment, Debian's chromium driven by playwright-core,
// pages that record every console message, CSP violation, page error and
// server error (any of which fails the scenario), the login steps, a small
// API client for what a scenario checks behind the page, and screenshots.
//
// A scenario is a file that calls run(name, async (s) => { … }). It exits 0
// when every step passed and 1 otherwise, printing why.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** need reads a setting the Go test must pass. */
export function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (the Go test of internal/testsupport/browser sets it)`);
  return v;
}

export const settings = {
  url: need("SILO_URL"), // the Silo on a host that names no tenant
  port: need("SILO_PORT"),
  baseDomain: need("SILO_BASE_DOMAIN"),
  centralEmail: need("SILO_CENTRAL_EMAIL"),
  password: need("SILO_PASSWORD"), // every user's password
  chromium: process.env.SILO_CHROMIUM || "/usr/bin/chromium",
  screenshots: process.env.SILO_SCREENSHOTS || "",
};

/** atLoginURL matches the login page's address (with the page to return to, if any). */
export const atLoginURL = /\/console\/login(\?.*)?$/;

/** tenantURL is path on tenant slug's own subdomain of the base domain. */
export function tenantURL(slug, path) {
  return `http://${slug}.${settings.baseDomain}:${settings.port}${path}`;
}

/** consoleURL is path under /console on the host that names no tenant. */
export function consoleURL(path) {
  return `${settings.url}/console${path}`;
}

const launchArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  // Tenant subdomains reach the test server without any DNS.
  `--host-resolver-rules=MAP *.${process.env.SILO_BASE_DOMAIN} 127.0.0.1`,
];

// Chrome logs every fetch answered 4xx as a console error; scenarios that
// log in with a wrong password expect those answers, and check what the
// page says instead.
const expectedNetworkNoise = /^Failed to load resource: the server responded with a status of 4\d\d\b/;

/** Scenario is what a scenario's body is given. */
class Scenario {
  constructor(browser) {
    this.browser = browser;
    this.problems = [];
    this.contexts = [];
  }

  /** page opens a page in a context of its own (a separate browser session). */
  async page(options = {}) {
    const context = await this.browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "en-US", timezoneId: "UTC", ...options });
    context.setDefaultTimeout(15_000);
    context.setDefaultNavigationTimeout(15_000);
    this.contexts.push(context);
    await context.exposeBinding("__siloReportViolation", (_source, v) => {
      this.problems.push(`CSP violation: ${v.directive} blocked ${v.blocked || "inline code"} at ${v.source}:${v.line}`);
    });
    // Injected by the browser, not by the page, so the page's own policy
    // does not apply to it.
    await context.addInitScript(() => {
      document.addEventListener("securitypolicyviolation", (e) => {
        // eslint-disable-next-line no-undef
        window.__siloReportViolation({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber });
      });
    });
    const page = await context.newPage();
    page.on("console", (msg) => {
      if (!expectedNetworkNoise.test(msg.text())) this.problems.push(`console ${msg.type()}: ${msg.text()}`);
    });
    page.on("pageerror", (err) => this.problems.push(`page error: ${err.message}`));
    page.on("response", (res) => {
      if (res.status() >= 500) this.problems.push(`${res.request().method()} ${res.url()} answered ${res.status()}`);
      if (res.request().isNavigationRequest() && new URL(res.url()).pathname.startsWith("/console")) {
        const csp = res.headers()["content-security-policy"] ?? "";
        if (!/script-src 'self'/.test(csp)) this.problems.push(`${res.url()} came without the console's Content-Security-Policy (got ${JSON.stringify(csp)})`);
      }
    });
    page.on("requestfailed", (req) => {
      const why = req.failure()?.errorText ?? "";
      if (why !== "net::ERR_ABORTED") this.problems.push(`${req.method()} ${req.url()} failed: ${why}`);
    });
    trackCalls(page);
    return page;
  }

  /** step runs one named step, logging it. */
  async step(name, f) {
    const t0 = Date.now();
    process.stdout.write(`  ${name} … `);
    const out = await f();
    process.stdout.write(`ok (${Date.now() - t0} ms)\n`);
    return out;
  }

  /** shot saves a screenshot of page as <name>.png (docs/console). */
  async shot(page, name) {
    if (!settings.screenshots) return;
    mkdirSync(settings.screenshots, { recursive: true });
    // No focus ring, caret or animation: the same page gives the same picture.
    await page.evaluate(() => {
      if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
      window.scrollTo(0, 0);
    });
    await page.screenshot({ path: join(settings.screenshots, `${name}.png`), animations: "disabled", caret: "hide" });
  }
}

/**
 * trackCalls counts page's API calls in flight, for settled: a scenario
 * that changes something behind the page waits until the page has done
 * what it was doing, or its own change would race the page's calls.
 */
function trackCalls(page) {
  let inflight = 0;
  let last = Date.now();
  // An event stream stays open while the page listens: it is no call in flight.
  const isAPI = (req) => {
    const p = new URL(req.url()).pathname;
    return p.startsWith("/api/") && p !== "/api/events" && p !== "/api/central/events";
  };
  page.on("request", (req) => {
    if (isAPI(req)) inflight++;
  });
  const done = (req) => {
    if (!isAPI(req)) return;
    inflight--;
    last = Date.now();
  };
  page.on("requestfinished", done);
  page.on("requestfailed", done);
  page.callsSettled = () => inflight === 0 && Date.now() - last >= 250;
}

/**
 * settled waits until page has rendered its route (its title names the
 * page's heading, which the console sets once a page is rendered) and no
 * API call has been in flight for a moment.
 */
export async function settled(page) {
  await page.waitForFunction(() => {
    const h1 = document.querySelector("main h1")?.textContent;
    return !!h1 && document.title.startsWith(h1);
  });
  await callsSettled(page);
}

/** callsSettled waits until no API call of page has been in flight for a moment. */
async function callsSettled(page) {
  const end = Date.now() + 15_000;
  while (!page.callsSettled()) {
    if (Date.now() > end) throw new Error("the page's API calls never settled");
    await page.waitForTimeout(50);
  }
}

/** keepEvidence saves a screenshot of every page open when a scenario failed, and says where. */
async function keepEvidence(name, s) {
  const dir = join(tmpdir(), "silo-e2e");
  mkdirSync(dir, { recursive: true });
  let n = 0;
  for (const c of s.contexts) {
    for (const p of c.pages()) {
      const path = join(dir, `${name}-${++n}.png`);
      if (await p.screenshot({ path, fullPage: true }).then(() => true, () => false)) console.log(`  page ${n} (${p.url()}) at failure: ${path}`);
    }
  }
}

/** run runs a scenario and exits with its result. */
export async function run(name, body) {
  const t0 = Date.now();
  console.log(`scenario ${name}`);
  let browser;
  let failure = null;
  let s;
  try {
    browser = await chromium.launch({ executablePath: settings.chromium, args: launchArgs, timeout: 30_000 });
    s = new Scenario(browser);
    await body(s);
  } catch (err) {
    failure = err;
  }
  if (failure && s) await keepEvidence(name, s);
  if (s) for (const c of s.contexts) await c.close().catch(() => {});
  await browser?.close().catch(() => {});
  const problems = s?.problems ?? [];
  if (failure) {
    process.stdout.write("\n");
    console.log(`FAIL ${name}: ${failure.stack ?? failure}`);
  }
  for (const p of problems) console.log(`FAIL ${name}: ${p}`);
  console.log(`${failure || problems.length ? "FAIL" : "PASS"} ${name} (${Date.now() - t0} ms)`);
  process.exit(failure || problems.length ? 1 : 0);
}

/** check throws message unless ok. */
export function check(ok, message) {
  if (!ok) throw new Error(message);
}

/** shown waits until locator is visible, and gives its text. */
export async function shown(locator) {
  await locator.first().waitFor({ state: "visible" });
  return (await locator.first().innerText()).trim();
}

/** alertText waits for the page's alert (role=alert) matching pattern and gives its text. */
export async function alertText(page, pattern = /\S/) {
  return shown(page.getByRole("alert").filter({ hasText: pattern }));
}

/**
 * plainWords checks that message reads as words for a person: not a code
 * (INVALID_CREDENTIALS), not JSON, not a bare status, not a stack.
 */
export function plainWords(message) {
  check(message.length > 0, "the message is empty");
  for (const bad of [/\b[A-Z]+_[A-Z_]+\b/, /[{}]/, /\bundefined\b/, /\[object /, /^\s*\d{3}\s*$/, /\bat \w+ \(/]) {
    check(!bad.test(message), `the message ${JSON.stringify(message)} is not in plain words (matches ${bad})`);
  }
  return message;
}

/** tenantField is the "Tenant ID" field (the tenant's name, once known, joins its label). */
export function tenantField(page) {
  return page.getByLabel(/^Tenant ID/).first();
}

/** loginForm fills the login form and submits it. */
export async function submitLogin(page, { email, password, tenant, central = false }) {
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  const box = page.getByLabel("Login as Central Admin");
  if (central) await box.check();
  else if (await box.isChecked()) await box.uncheck();
  if (tenant !== undefined) {
    await tenantField(page).fill(tenant);
    // Leaving the field looks the tenant up, and its name appears below
    // the field: a click on "Log in" while that moves the button is lost.
    await page.keyboard.press("Tab");
    await callsSettled(page);
  }
  await page.getByRole("button", { name: "Log in" }).click();
}

/** loginCentral logs the central superadmin in on page. */
export async function loginCentral(page, email = settings.centralEmail) {
  await page.goto(consoleURL("/login"));
  await submitLogin(page, { email, password: settings.password, central: true });
  await page.waitForURL(/\/console\/central/);
  await settled(page);
}

/** loginTenant logs a tenant user in on page, naming the tenant in the Tenant ID field. */
export async function loginTenant(page, tenant, email) {
  await page.goto(consoleURL("/login"));
  await submitLogin(page, { email, password: settings.password, tenant });
  await page.waitForURL(/\/console\/tenant/);
  await settled(page);
}

/** api calls Silo's API directly (for what a scenario checks behind the page). */
export async function api(method, path, { token, tenant, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (tenant) headers["x-tenant-id"] = tenant;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(settings.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, json, text };
}

/** centralToken logs the central superadmin in over the API. */
export async function centralToken() {
  const res = await api("POST", "/api/central/auth/login", { body: { email: settings.centralEmail, password: settings.password } });
  check(res.status === 200, `central login answered ${res.status}: ${res.text}`);
  return res.json.access_token;
}

/** storedSession is the console's session kept in the page's sessionStorage. */
export async function storedSession(page) {
  const raw = await page.evaluate(() => {
    for (let i = 0; i < sessionStorage.length; i++) {
      const k = sessionStorage.key(i);
      if (k && k.startsWith("silo.")) return sessionStorage.getItem(k);
    }
    return null;
  });
  check(raw, "the console keeps no session in sessionStorage");
  return JSON.parse(raw);
}

/** nav is the header's navigation link called name. */
export function nav(page, name) {
  return page.getByRole("navigation").getByRole("link", { name, exact: true }).first();
}

/**
 * visit follows the header's link called name and waits until its page
 * (whose heading matches heading, by default name) has settled.
 */
export async function visit(page, name, heading = name) {
  await nav(page, name).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
  await settled(page);
}

/** control is the button, or else the link, called name (a string is matched exactly). */
export function control(scope, name) {
  const exact = typeof name === "string";
  return scope.getByRole("button", { name, exact }).or(scope.getByRole("link", { name, exact })).first();
}

/** input is the form control labelled by pattern. */
export function input(scope, pattern) {
  return scope.getByLabel(pattern).first();
}

/** submit clicks the submit button of the form holding the page's visible inputs. */
export async function submit(page, name) {
  await page.locator("form").filter({ has: page.getByRole("button", { name }) }).last()
    .getByRole("button", { name }).last().click();
}

/** mainText is what the page's main element says, the values of its inputs included. */
export async function mainText(page) {
  return page.locator("main").evaluate((m) => {
    const values = [...m.querySelectorAll("input, textarea, output")].map((e) => e.value ?? e.textContent);
    const links = [...m.querySelectorAll("a[href]")].map((a) => a.getAttribute("href"));
    return [m.innerText, ...values, ...links].join("\n");
  });
}

/** waitForMain waits until the main element's text (see mainText) matches pattern, and gives the match. */
export async function waitForMain(page, pattern, timeout = 15_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const m = (await mainText(page)).match(pattern);
    if (m) return m;
    if (Date.now() > end) throw new Error(`the page never showed ${pattern}: ${(await mainText(page)).slice(0, 500)}`);
    await page.waitForTimeout(100);
  }
}

/** openTenant goes from the central Tenants page to tenant slug's own page. */
export async function openTenant(page, slug) {
  await visit(page, "Tenants");
  await page.getByRole("link", { name: new RegExp(`^(${slug}|${slug.toUpperCase()})$`) }).first().click();
  await shown(page.getByRole("heading", { level: 1 }));
}

/** eventually retries f until it gives a truthy value (or timeout ms passed). */
export async function eventually(what, f, timeout = 15_000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await f();
    if (last) return last;
    if (Date.now() > end) throw new Error(`${what} never happened`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let replies = null;

/**
 * ask has the Go test do what (a hook of the scenario, e.g. "fleet-run")
 * behind the browser's back, and waits until it is done.
 */
export async function ask(what) {
  if (!replies) {
    const { createInterface } = await import("node:readline");
    const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
    replies = { next: async () => (await lines.next()).value };
  }
  process.stdout.write(`\n@@silo-e2e ask ${what}\n`);
  const reply = await replies.next();
  if (reply !== "ok") throw new Error(`the test could not ${what}: ${reply ?? "no answer"}`);
}
