// Pieces shared by the console's pages: error messages as sentences, the
// tenant's branding and the user's permissions, inline confirmations, copy
// boxes, checkbox groups, JSON editors and a pager for cursor listings.
import { call, client, problem, session, type Plane, type Session } from "./api";
import type { components } from "./schema";
import { alert, field, h, replace } from "./ui";

export type Me = components["schemas"]["MeAnswer"];
export type Settings = components["schemas"]["Settings"];

/** Every permission a tenant knows (docs/API.md, Tenant authentication). */
export const allPermissions = ["users:read", "users:write", "roles:write", "settings:write", "apikeys:write", "audit:read", "data:read", "data:write"];

// ---- Messages ----

/** sentences makes each part of a message a sentence: a capital and a full stop. */
export function sentences(text: string): string {
  return text
    .split(/(?<=[.!?])\s+|;\s*/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? "" : "."))
    .join(" ");
}

/** failed says in sentences what could not be done and why (the server's words). */
export function failed(doing: string, res: { error?: unknown; response: Response }): string {
  return `${sentences(doing)} ${sentences(problem(res))}`;
}

/** say shows one message in area (role=alert), in place of the last one. */
export function say(area: HTMLElement, message: string, kind: "error" | "info" = "error"): void {
  replace(area, alert(message, kind));
}

/** when is ui.ts's: one way to show a time. */
export { busy, table, when } from "./ui";

let ids = 0;

/** uid is a fresh element id. */
export function uid(prefix = "w"): string {
  ids += 1;
  return `${prefix}-${ids}`;
}

// ---- The tenant user and the tenant's branding ----

let me: Me | null = null;
let meOf: Session | null = null;

/**
 * prepare runs before a page of plane is shown. On the tenant plane it
 * loads the user (for their permissions) once per session (again after each
 * token refresh); the header draws the tenant's branding (branding.ts). It
 * answers false when the session ended meanwhile (the console shows the
 * login page).
 */
export async function prepare(plane: Plane | "public"): Promise<boolean> {
  const s = session();
  if (plane !== "tenant" || s?.plane !== "tenant") return true;
  if (meOf === s && me) return true;
  const who = await call(() => client.GET("/api/auth/me"));
  if (!session()) return false;
  me = who.data ?? null;
  meOf = me ? session() : null;
  return true;
}

/** currentUser is the tenant user loaded by prepare (null before). */
export function currentUser(): Me | null {
  return me;
}

/** forgetUser makes the next page load the user again (their roles changed). */
export function forgetUser(): void {
  meOf = null;
}

/** can says whether the user holds permission (true while it is not known: the server decides). */
export function can(permission: string | undefined): boolean {
  if (!permission || !me) return true;
  return (me.user.permissions ?? []).includes(permission);
}

// ---- Controls ----

/**
 * confirmAction asks question next to the button that asked for it; yes
 * runs the action, Cancel or Escape puts the focus back on the button.
 */
export function confirmAction(button: HTMLButtonElement, question: string, yesLabel: string, run: () => Promise<void>): void {
  document.querySelectorAll(".confirm").forEach((el) => el.remove());
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const yes = h("button", { type: "button", class: "danger" }, yesLabel);
  const text = h("p", { id: uid("confirm") }, question);
  const box = h("div", { class: "confirm", role: "group", "aria-labelledby": text.id }, text, h("div", { class: "row" }, yes, cancel));
  const close = (): void => {
    box.remove();
    button.focus();
  };
  cancel.addEventListener("click", close);
  box.addEventListener("keydown", (e) => {
    if (e.key === "Escape") close();
  });
  yes.addEventListener("click", () => {
    yes.disabled = true;
    cancel.disabled = true;
    void run().finally(() => box.remove());
  });
  button.after(box);
  cancel.focus();
}

/**
 * copyBox shows a value to copy: a read-only field and a copy button
 * (the clipboard, or else the text selected for the reader to copy).
 */
export function copyBox(label: string, value: string, buttonLabel: string): HTMLElement {
  const input = h("input", { type: "text", readonly: true, value, spellcheck: "false", autocomplete: "off" });
  const status = h("p", { class: "muted", role: "status" });
  const copy = async (): Promise<void> => {
    try {
      if (!navigator.clipboard) throw new Error("no clipboard");
      await navigator.clipboard.writeText(value);
      status.textContent = "Copied to the clipboard.";
    } catch {
      input.focus();
      input.select();
      status.textContent = "The text is selected: copy it with Ctrl+C (⌘C on a Mac).";
    }
  };
  const button = h("button", { type: "button", onclick: () => void copy() }, buttonLabel);
  return h("div", { class: "copy" }, field(label, input), button, status);
}

/** checkboxes is a labelled group of checkboxes, one per option. */
export function checkboxes(legend: string, options: readonly string[], checked: readonly string[], disabled = false): HTMLFieldSetElement {
  return h("fieldset", { class: "checks" }, h("legend", {}, legend),
    options.map((o) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: o, checked: checked.includes(o), disabled }), o)));
}

/** checkedValues lists the values of the checked boxes inside el. */
export function checkedValues(el: Element): string[] {
  return Array.from(el.querySelectorAll<HTMLInputElement>("input[type=checkbox]:checked"), (c) => c.value);
}

// ---- JSON ----

export type JSONObject = Record<string, unknown>;

/** isObject says whether v is a JSON object (not an array, not null). */
export function isObject(v: unknown): v is JSONObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** jsonEditor is a labelled textarea holding a JSON value. */
export function jsonEditor(label: string, value: unknown): { field: HTMLLabelElement; input: HTMLTextAreaElement } {
  const input = h("textarea", { spellcheck: "false", autocomplete: "off", rows: 12 });
  input.value = JSON.stringify(value ?? {}, null, 2);
  return { field: field(label, input), input };
}

/**
 * readObject parses a JSON editor's text as a JSON object; else it marks
 * the editor invalid, says why in area and answers null.
 */
export function readObject(input: HTMLTextAreaElement, area: HTMLElement): JSONObject | null {
  let v: unknown;
  try {
    v = JSON.parse(input.value);
  } catch (err) {
    return invalid(input, area, `This is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isObject(v)) return invalid(input, area, "The data must be a JSON object, such as {\"title\": \"Hello\"}.");
  input.removeAttribute("aria-invalid");
  return v;
}

function invalid(input: HTMLTextAreaElement, area: HTMLElement, message: string): null {
  input.setAttribute("aria-invalid", "true");
  say(area, sentences(message));
  input.focus();
  return null;
}

// ---- Paging ----

export interface Pager {
  element: HTMLElement;
  /** reset loads the first page again */
  reset(): Promise<void>;
  /** reload loads the page shown again */
  reload(): Promise<void>;
}

/**
 * pager walks a cursor listing: load shows the page at cursor and answers
 * the next page's cursor (null on the last page or after an error).
 */
export function pager(load: (cursor: string | undefined) => Promise<string | null>): Pager {
  const cursors: (string | undefined)[] = [undefined];
  let index = 0;
  let next: string | null = null;
  const label = h("span", { class: "muted", "aria-live": "polite" });
  const prev = h("button", { type: "button", class: "secondary", disabled: true }, "Previous page");
  const more = h("button", { type: "button", class: "secondary", disabled: true }, "Next page");
  const run = async (): Promise<void> => {
    prev.disabled = true;
    more.disabled = true;
    next = await load(cursors[index]);
    prev.disabled = index === 0;
    more.disabled = next === null;
    label.textContent = `Page ${index + 1}`;
    element.hidden = index === 0 && next === null;
    if (document.activeElement === document.body) (more.disabled ? prev : more).focus();
  };
  prev.addEventListener("click", () => {
    if (index > 0) index -= 1;
    void run();
  });
  more.addEventListener("click", () => {
    if (next === null) return;
    cursors[index + 1] = next;
    index += 1;
    void run();
  });
  const element = h("nav", { class: "row pager", "aria-label": "Pages", hidden: true }, prev, label, more);
  return {
    element,
    reset: () => {
      cursors.length = 1;
      index = 0;
      return run();
    },
    reload: run,
  };
}


/** emptyRow is the one row of a table with nothing to show. */
export function emptyRow(columns: number, text: string): HTMLTableRowElement {
  return h("tr", {}, h("td", { colspan: columns, class: "muted" }, text));
}
