// A tenant's branding (GET /api/auth/tenant): its name, colour and logo,
// on the login pages and in the tenant console's header. Colours reach the
// page as a CSS custom property set from script (the policy allows no
// inline style); a logo is shown only from the console's own origin or a
// data: URI, the only images the policy loads.
import { anonymous, type Answer, type Schemas } from "./api";
import { h } from "./ui";

export type Branding = Schemas["Branding"];

/**
 * fetchBranding asks which tenant the address (or the slug, when given)
 * names. Without a slug it sends no x-tenant-id: the host alone decides.
 */
export function fetchBranding(slug = ""): Promise<Answer<Schemas["BrandingAnswer"]>> {
  const header = slug ? { "x-tenant-id": slug } : {};
  return anonymous.GET("/api/auth/tenant", { params: { header } });
}

const cache = new Map<string, Branding>();

/** brandingOf is a tenant's branding, asked once per page load (null when it cannot be had). */
export async function brandingOf(slug: string): Promise<Branding | null> {
  const known = cache.get(slug);
  if (known) return known;
  try {
    const res = await fetchBranding(slug);
    if (!res.data) return null;
    cache.set(slug, res.data.tenant);
    return res.data.tenant;
  } catch {
    return null;
  }
}

/**
 * forgetBranding drops what brandingOf learnt of slug, so that the next
 * page shows changed settings (the settings page calls it after saving).
 */
export function forgetBranding(slug: string): void {
  cache.delete(slug);
}

/** applyBranding sets the accent colour of the page (null: the default). */
export function applyBranding(b: Branding | null): void {
  const root = document.documentElement.style;
  const color = b?.primaryColor ?? "";
  if (/^#[0-9a-fA-F]{6}$/.test(color)) {
    root.setProperty("--accent", color);
    root.setProperty("--accent-fg", readableOn(color));
  } else {
    root.removeProperty("--accent");
    root.removeProperty("--accent-fg");
  }
}

/** readableOn is black or white, whichever reads better on color (#rrggbb). */
function readableOn(color: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(color.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return luminance > 0.179 ? "#000000" : "#ffffff";
}

/** logoURL is the logo's address when the page may show it, else "". */
export function logoURL(b: Branding | null): string {
  if (!b?.logoUrl) return "";
  try {
    const u = new URL(b.logoUrl, location.href);
    return u.protocol === "data:" || u.origin === location.origin ? u.href : "";
  } catch {
    return "";
  }
}

/** brandMark is the tenant's logo (when it may be shown) and name. */
export function brandMark(b: Branding, fallback: string): HTMLElement {
  const logo = logoURL(b);
  return h("span", { class: "brand-mark" },
    logo ? h("img", { src: logo, alt: "", class: "logo" }) : null,
    h("span", {}, b.name || fallback));
}
