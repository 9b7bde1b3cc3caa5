// A message for the next page shown (after an action that navigates
// away: "Tenant acme deleted."), shown at its top once.
let pending: { text: string; kind: "info" | "error" } | null = null;

/** flash keeps text for the next page shown. */
export function flash(text: string, kind: "info" | "error" = "info"): void {
  pending = { text, kind };
}

/** takeFlash returns the kept message, once. */
export function takeFlash(): { text: string; kind: "info" | "error" } | null {
  const p = pending;
  pending = null;
  return p;
}
