// A typed walk through Silo's HTTP API with a client generated from its
// OpenAPI document (openapi-typescript for the types, openapi-fetch for the
// calls): a central admin logs in and creates a tenant with its first
// admin, who logs in to the tenant, creates records and reads them back a
// page at a time. Every field read here is typed by the document; a change
// of the API that breaks this flow breaks `npm run typecheck`.
//
// Run it against a Silo (npm run build first):
//
//   SILO_URL=http://127.0.0.1:8080 SILO_EMAIL=admin@example.com \
//   SILO_PASSWORD='change-me-please' node dist/flow.js
//
// SILO_EMAIL and SILO_PASSWORD are a central admin's. The tenant it creates
// is deleted and its database dropped at the end (a superadmin's right);
// SILO_KEEP_TENANT=1 keeps it.

import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

/** What the flow needs to know. */
export interface Settings {
  /** Where Silo answers, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  /** A central admin's email and password. */
  email: string;
  password: string;
  /** How many records to create, and how many to read per page. */
  records: number;
  pageSize: number;
  /** Delete the tenant (and drop its database) at the end. */
  cleanUp: boolean;
}

/** What the flow did, for its caller to check. */
export interface Outcome {
  tenant: string;
  created: string[];
  listed: string[];
  pages: number;
}

/** A call that did not answer 2xx: the step, the status and Silo's error envelope. */
export class CallFailed extends Error {
  constructor(step: string, status: number, body: unknown) {
    super(`${step}: HTTP ${status} ${JSON.stringify(body)}`);
    this.name = "CallFailed";
  }
}

/** The data of a successful openapi-fetch answer, or CallFailed. */
function ok<T, E>(step: string, answer: { data?: T; error?: E; response: Response }): T {
  if (answer.data === undefined) {
    throw new CallFailed(step, answer.response.status, answer.error);
  }
  return answer.data;
}

/** A fresh tenant slug: it matches ^[a-z][a-z0-9-]{1,38}[a-z0-9]$. */
function newSlug(): string {
  return `flow-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

/** Runs the whole flow; it throws on the first call that fails. */
export async function runFlow(s: Settings): Promise<Outcome> {
  const central = createClient<paths>({ baseUrl: s.baseUrl });

  const login = ok("central login", await central.POST("/api/central/auth/login", {
    body: { email: s.email, password: s.password },
  }));
  const adminAuth = { Authorization: `Bearer ${login.access_token}` };

  const slug = newSlug();
  const admin = {
    email: `admin@${slug}.example.org`,
    password: randomBytes(12).toString("base64url"),
    firstName: "Flow",
    lastName: "Admin",
  };
  const created = ok("create tenant", await central.POST("/api/central/tenants", {
    headers: adminAuth,
    body: { slug, name: `Flow ${slug}`, admin },
  }));
  const tenant = created.tenant.slug;
  console.log(`tenant ${tenant}: ${created.tenant.status} on server ${created.tenant.server}`);

  const deleteTenant = async (): Promise<void> => {
    const gone = await central.DELETE("/api/central/tenants/{slug}", {
      headers: adminAuth,
      params: { path: { slug: tenant }, query: { purge: "true" } },
    });
    if (!gone.response.ok) {
      throw new CallFailed("delete tenant", gone.response.status, gone.error);
    }
    console.log(`tenant ${tenant}: deleted and purged`);
  };

  let done: Omit<Outcome, "tenant">;
  try {
    done = await useTenant(s, tenant, admin);
  } catch (err) {
    if (s.cleanUp) {
      // The first failure is the one to report; a failed clean-up is only logged.
      await deleteTenant().catch((e: unknown) => console.error(`clean-up: ${String(e)}`));
    }
    throw err;
  }
  if (s.cleanUp) {
    await deleteTenant();
  }
  return { tenant, ...done };
}

/** The tenant's half: log in as its admin, write records, page through them. */
async function useTenant(
  s: Settings,
  slug: string,
  user: { email: string; password: string },
): Promise<Omit<Outcome, "tenant">> {
  const tenant = createClient<paths>({ baseUrl: s.baseUrl, headers: { "x-tenant-id": slug } });
  const session = ok("tenant login", await tenant.POST("/api/auth/login", {
    body: { email: user.email, password: user.password },
  }));
  if (session.tenant.slug !== slug) {
    throw new Error(`tenant login answered for tenant ${session.tenant.slug}, not ${slug}`);
  }
  const auth = { Authorization: `Bearer ${session.access_token}` };
  console.log(`logged in to ${session.tenant.name} as ${session.user.email} (${session.user.roles?.join(", ") ?? "no roles"})`);

  const collection = "flow_notes";
  const created: string[] = [];
  for (let n = 1; n <= s.records; n++) {
    const answer = ok(`create record ${n}`, await tenant.POST("/api/collections/{collection}/records", {
      headers: auth,
      params: { path: { collection } },
      body: { data: { title: `note ${n}`, n, done: n % 2 === 0 } },
    }));
    created.push(answer.record.id);
  }

  const listed: string[] = [];
  let pages = 0;
  let cursor: string | null = null;
  do {
    const query: { limit: number; cursor?: string } = { limit: s.pageSize };
    if (cursor !== null) {
      query.cursor = cursor;
    }
    const page = ok(`list records, page ${pages + 1}`, await tenant.GET("/api/collections/{collection}/records", {
      headers: auth,
      params: { path: { collection }, query },
    }));
    pages++;
    for (const r of page.records) {
      listed.push(r.id);
    }
    cursor = page.nextCursor;
  } while (cursor !== null);

  return { created, listed, pages };
}

function setting(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set`);
  }
  return value;
}

async function main(): Promise<void> {
  const s: Settings = {
    baseUrl: setting("SILO_URL", "http://127.0.0.1:8080"),
    email: setting("SILO_EMAIL"),
    password: setting("SILO_PASSWORD"),
    records: 5,
    pageSize: 2,
    cleanUp: process.env["SILO_KEEP_TENANT"] !== "1",
  };
  const out = await runFlow(s);
  const same = out.created.length === out.listed.length && out.created.every((id, i) => out.listed[i] === id);
  if (!same) {
    throw new Error(`created ${out.created.join(",")} but listed ${out.listed.join(",")}`);
  }
  console.log(`created ${out.created.length} records and read them back in ${out.pages} pages`);
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main().catch((err: unknown) => {
    console.error(`flow failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
