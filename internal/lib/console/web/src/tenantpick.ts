// Which tenant a public page (login, sign-up, invitation) is for: the one
// the address names (a subdomain or custom domain: GET /api/auth/tenant
// without x-tenant-id says which), or else the one typed in the "Tenant
// ID" field. When the address names the tenant the field is hidden and
// requests carry no x-tenant-id: the host decides.
import { errorCode, problem, type Answer, type Schemas } from "./api";
import { applyBranding, brandingOf, brandMark, fetchBranding, type Branding } from "./branding";
import { alert, field, h, replace } from "./ui";

/** slugPattern is a tenant ID's form (provisioning.SlugPattern). */
export const slugPattern = /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/;

export interface TenantPick {
  /** the "Tenant ID" field, hidden when the address names the tenant */
  field: HTMLLabelElement;
  /** the tenant's name and logo, once known */
  mark: HTMLElement;
  /** the x-tenant-id header to send: {} when the address names the tenant */
  header(): { "x-tenant-id"?: string };
  /** the typed tenant ID ("" when the address names the tenant or nothing is typed) */
  typed(): string;
  /** whether the address names the tenant */
  fromHost(): boolean;
  /** the tenant's branding, when known */
  branding(): Branding | null;
  /** resolves once the address has been asked */
  ready: Promise<void>;
  /** hides or shows the field, whatever the address (the central login hides it) */
  hideField(hidden: boolean): void;
}

/**
 * tenantPick asks the address for its tenant and builds the field.
 * initial prefills the field (a ?tenant= of a link); message receives what
 * the address answered when it is a problem (a suspended tenant);
 * onChange hears of each branding learnt.
 */
export function tenantPick(initial: string, message: HTMLElement, onChange: (b: Branding | null) => void = () => {}): TenantPick {
  const input = h("input", { name: "tenant", autocomplete: "organization", autocapitalize: "none", spellcheck: "false",
    placeholder: "acme", value: initial });
  const hint = h("span", { class: "muted hint", id: "tenant-hint" });
  input.setAttribute("aria-describedby", hint.id);
  const label = field("Tenant ID", input);
  label.append(hint);
  const mark = h("div", { class: "tenant-mark" });
  let host = false;
  let known: Branding | null = null;
  let forcedHidden = false;
  const show = (b: Branding | null) => {
    known = b;
    applyBranding(b);
    replace(mark, b ? brandMark(b, b.slug) : null);
    onChange(b);
  };
  const typed = () => (host ? "" : input.value.trim().toLowerCase());
  input.addEventListener("change", () => {
    const slug = typed();
    replace(hint);
    if (!slugPattern.test(slug)) return show(null);
    void brandingOf(slug).then((b) => {
      if (typed() !== slug) return;
      show(b);
      if (b) replace(hint, b.name);
    });
  });
  const ready = (async () => {
    let res: Answer<Schemas["BrandingAnswer"]> | null = null;
    try {
      res = await fetchBranding();
    } catch {
      res = null;
    }
    if (res?.data) {
      host = true;
      show(res.data.tenant);
    } else if (res && errorCode(res) === "TENANT_NOT_FOUND") {
      replace(message, alert("No tenant answers at this address. Give the tenant ID instead.", "info"));
    } else if (res && errorCode(res) !== "TENANT_ID_REQUIRED") {
      host = true; // the address names a tenant that cannot be logged in to now
      replace(message, alert(problem(res)));
    }
    label.hidden = host || forcedHidden;
    if (!host && initial) input.dispatchEvent(new Event("change"));
  })();
  return {
    field: label, mark, ready, typed,
    header: () => (typed() ? { "x-tenant-id": typed() } : {}),
    fromHost: () => host,
    branding: () => known,
    hideField(hidden: boolean) {
      forcedHidden = hidden;
      label.hidden = host || hidden;
    },
  };
}

/**
 * tenantProblem is what a tenant-plane answer's failure means, naming the
 * typed tenant ID when it is unknown.
 */
export function tenantProblem(res: Answer<unknown>, typed: string): string {
  if (errorCode(res) === "TENANT_NOT_FOUND" && typed) return `No tenant has the ID “${typed}”.`;
  return problem(res);
}
