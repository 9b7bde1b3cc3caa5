// DOM helpers: the console builds its pages with these, never with HTML
// strings, so text from the API is always text.

export type Child = Node | string | number | null | undefined | false | Child[];
export type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;

/** h creates an element: attributes (on* are listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

/** replace puts children in place of el's content. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** field is a labelled input. */
export function field(label: string, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement): HTMLLabelElement {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

/** alert is a message in plain words (role=alert, so screen readers read it). */
export function alert(message: string, kind: "error" | "info" = "error"): HTMLElement {
  return h("p", { class: `alert ${kind}`, role: "alert" }, message);
}

/** formValues reads a form's named fields. */
export function formValues(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  new FormData(form).forEach((v, k) => {
    out[k] = typeof v === "string" ? v : "";
  });
  return out;
}

/** button is a <button type="button"> that runs onClick. */
export function button(text: string, onClick: () => void | Promise<void>, kind: "" | "secondary" | "danger" = ""): HTMLButtonElement {
  return h("button", { type: "button", class: kind || null, onclick: () => void onClick() }, text);
}

/**
 * busy runs f with el disabled (a control, or a form's buttons: its fields
 * stay enabled, or the form's values could not be read), reporting a
 * thrown error (no answer at all) in message rather than dropping it.
 */
type Control = HTMLButtonElement | HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

export async function busy(el: Control | HTMLFormElement, message: Element | null, f: () => Promise<void>): Promise<void> {
  const controls = el instanceof HTMLFormElement ? Array.from(el.querySelectorAll("button")) : [el];
  const was = controls.map((c) => c.disabled);
  controls.forEach((c) => (c.disabled = true));
  el.setAttribute("aria-busy", "true");
  try {
    await f();
  } catch (err) {
    if (!message) throw err; // the caller reports it
    replace(message, alert(err instanceof TypeError ? "Silo could not be reached. Check your connection and try again."
      : `Something went wrong: ${err instanceof Error ? err.message : String(err)}`));
  } finally {
    controls.forEach((c, i) => (c.disabled = was[i] ?? false));
    el.removeAttribute("aria-busy");
  }
}

/** table is a table with a caption (for screen readers), headers and rows (or the tbody a page refills). */
export function table(caption: string, headers: readonly string[], rows: Child[][] | HTMLTableSectionElement): HTMLTableElement {
  const body = rows instanceof HTMLTableSectionElement ? rows
    : h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c)))));
  return h("table", {},
    h("caption", { class: "sr-only" }, caption),
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { scope: "col" }, t)))),
    body);
}

/** when is a time from the API, in the reader's locale (ISO in the tooltip). */
export function when(iso: string | null | undefined): HTMLElement | string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return h("time", { datetime: iso, title: iso }, d.toLocaleString());
}

/** badge shows a status word with a class of its own (status-active, …). */
export function badge(status: string): HTMLElement {
  return h("span", { class: `badge status-${status.replace(/[^a-z-]/g, "")}` }, status);
}

/** definitions is a <dl> of label → value pairs. */
export function definitions(pairs: [string, Child][]): HTMLDListElement {
  return h("dl", { class: "pairs" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

/** checkbox is a labelled checkbox (the label after the box). */
export function checkbox(label: string, name: string, checked = false): HTMLLabelElement {
  return h("label", { class: "check" }, h("input", { type: "checkbox", name, checked }), label);
}

/** select is a <select> of values (each its own label unless given). */
export function select(name: string, options: (string | [string, string])[], value = ""): HTMLSelectElement {
  return h("select", { name }, options.map((o) => {
    const [v, text] = typeof o === "string" ? [o, o] : o;
    return h("option", { value: v, selected: v === value }, text);
  }));
}

/** words splits a list typed as text (commas, spaces or lines) into words. */
export function words(text: string): string[] {
  return text.split(/[\s,]+/).map((w) => w.trim()).filter(Boolean);
}

/**
 * confirmTyped is a form that runs act only once the person has typed
 * expected (a tenant's slug, a server's name) into its field: the guard of
 * what cannot be undone.
 */
export function confirmTyped(opts: {
  legend: string; expected: string; action: string; extra?: HTMLElement;
  /** does it, saying what went wrong in message */
  act: (message: HTMLElement) => Promise<void>;
}): HTMLFormElement {
  const input = h("input", { name: "confirm", autocomplete: "off", spellcheck: "false" });
  const go = h("button", { type: "submit", class: "danger", disabled: true }, opts.action);
  const message = h("div", {});
  input.addEventListener("input", () => {
    go.disabled = input.value.trim() !== opts.expected;
  });
  const form = h("form", { class: "card danger-zone" },
    h("fieldset", {}, h("legend", {}, opts.legend),
      message,
      opts.extra,
      field(`Type ${opts.expected} to confirm`, input),
      go));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (input.value.trim() !== opts.expected) return;
    void busy(form, message, () => opts.act(message));
  });
  return form;
}

/** pager is a "Next page" button while there is a next page. */
export function pager(next: string | null | undefined, go: (cursor: string) => void): HTMLElement | null {
  if (!next) return null;
  return h("nav", { class: "row pager", "aria-label": "Pages" }, button("Next page", () => go(next), "secondary"));
}
