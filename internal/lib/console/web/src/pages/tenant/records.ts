// Records: the tenant's collections, the records of one (a page at a time,
// with an optional where[field]=value filter), and one record in a JSON
// editor. Saving and deleting send If-Match with the version read, so a
// change made meanwhile by someone else is never overwritten unseen.
import { call, client } from "../../api";
import { link, navigate } from "../../router";
import type { components } from "../../schema";
import { alert, field, h, replace } from "../../ui";
import {
  busy, can, confirmAction, emptyRow, failed, jsonEditor, pager, readObject, say, table, when, type JSONObject,
} from "../../widgets";
import type { TenantPage } from "./index";

type DataRecord = components["schemas"]["Record"];

const recordsPath = "/tenant/records";
const collectionPath = (c: string): string => `${recordsPath}/${encodeURIComponent(c)}`;
const recordPath = (c: string, id: string): string => `${collectionPath(c)}/${encodeURIComponent(id)}`;

export const recordsPage: TenantPage = {
  path: recordsPath,
  nav: "Records",
  permission: "data:read",
  async render(main) {
    const res = await call(() => client.GET("/api/collections"));
    const body = h("tbody", {});
    replace(main, h("h1", {}, "Records"),
      res.data ? null : alert(failed("Could not list the collections.", res)),
      table("Collections", ["Collection", "Records"], body),
      can("data:write") ? createForm(null) : null);
    const list = res.data?.collections ?? [];
    replace(body, list.length
      ? list.map((c) => h("tr", {}, h("td", {}, link(collectionPath(c.name), c.name)), h("td", {}, c.count.toLocaleString())))
      : emptyRow(2, "No collection holds records yet."));
  },
};

export const collectionPage: TenantPage = {
  path: `${recordsPath}/:collection`,
  async render(main, params) {
    const collection = params["collection"] ?? "";
    const messages = h("div", {});
    const body = h("tbody", {});
    const name = h("input", { name: "field", autocomplete: "off", maxlength: 64, placeholder: "status" });
    const value = h("input", { name: "value", autocomplete: "off" });
    const size = h("select", { name: "limit" }, [10, 25, 50, 100, 200].map((n) => h("option", { value: n, selected: n === 50 }, n)));
    let where: { [key: string]: string } | undefined;
    const list = pager(async (cursor) => {
      const res = await call(() => client.GET("/api/collections/{collection}/records", {
        params: { path: { collection }, query: { cursor, where, limit: Number(size.value) } },
      }));
      if (!res.data) {
        say(messages, failed("Could not list the records.", res));
        replace(body);
        return null;
      }
      replace(messages);
      const records = res.data.records;
      replace(body, records.length ? records.map(recordRow) : emptyRow(4, where ? "No record matches the filter." : "No records."));
      return res.data.nextCursor;
    });
    const clear = h("button", { type: "button", class: "secondary" }, "Show all");
    const filter = h("form", { class: "row filter", "aria-label": "Filter records" },
      field("Field", name), field("Value", value), field("Page size", size), h("button", { type: "submit" }, "Filter"), clear);
    filter.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = name.value.trim();
      where = f ? { [f]: value.value } : undefined;
      void list.reset();
    });
    clear.addEventListener("click", () => {
      filter.reset();
      where = undefined;
      void list.reset();
    });
    replace(main, link(recordsPath, "All collections"), h("h1", {}, `Records in ${collection}`),
      filter, h("p", { class: "muted" }, "The filter keeps the records whose field equals the value, compared as text."),
      messages, table(`Records in ${collection}`, ["ID", "Data", "Version", "Updated"], body), list.element,
      can("data:write") ? createForm(collection) : null);
    await list.reset();
  },
};

function recordRow(r: DataRecord): HTMLTableRowElement {
  const data = JSON.stringify(r.data);
  return h("tr", {}, h("td", {}, link(recordPath(r.collection, r.id), r.id)),
    h("td", {}, h("code", {}, data.length > 120 ? `${data.slice(0, 119)}…` : data)),
    h("td", {}, r.version), h("td", {}, when(r.updatedAt)));
}

/** createForm creates a record, in collection or in the one named in the form. */
function createForm(collection: string | null): HTMLFormElement {
  const name = h("input", { name: "collection", autocomplete: "off", required: true, maxlength: 63, placeholder: "todos" });
  const editor = jsonEditor("Data (JSON)", {});
  const messages = h("div", {});
  const submit = h("button", { type: "submit" }, "Create record");
  const form = h("form", { class: "card", novalidate: true }, h("h2", {}, "Create a record"), messages,
    collection === null ? [field("Collection", name),
      h("p", { class: "muted" }, "Lower-case letters, digits and _, starting with a letter. A new name starts a collection.")] : null,
    editor.field, submit);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = readObject(editor.input, messages);
    if (!data) return;
    const c = collection ?? name.value.trim();
    void busy(submit, null, async () => {
      const res = await call(() => client.POST("/api/collections/{collection}/records", { params: { path: { collection: c } }, body: { data } }));
      if (!res.data) return say(messages, failed("Could not create the record.", res));
      navigate(`${recordPath(c, res.data.record.id)}?created=1`);
    });
  });
  return form;
}

/** Loaded is a record as read, with its ETag. */
interface Loaded { record: DataRecord; etag: string }

async function fetchRecord(collection: string, id: string): Promise<Loaded | { error: string }> {
  const res = await call(() => client.GET("/api/collections/{collection}/records/{id}", { params: { path: { collection, id } } }));
  if (!res.data) return { error: failed("Could not load the record.", res) };
  return { record: res.data.record, etag: res.response.headers.get("ETag") ?? `"${res.data.record.version}"` };
}

export const recordPage: TenantPage = {
  path: `${recordsPath}/:collection/:id`,
  async render(main, params, query) {
    const collection = params["collection"] ?? "";
    const id = params["id"] ?? "";
    const back = link(collectionPath(collection), `Records in ${collection}`);
    const got = await fetchRecord(collection, id);
    if ("error" in got) return replace(main, back, h("h1", {}, "Record"), alert(got.error));
    const view = new RecordView(collection, id, got);
    replace(main, back, h("h1", {}, "Record"), view.element);
    if (query.get("created")) say(view.messages, "Record created.", "info");
  },
};

/** RecordView shows a record in a JSON editor, saves it and settles conflicts. */
class RecordView {
  readonly messages = h("div", {});
  readonly element: HTMLElement;
  private readonly facts = h("dl", { class: "facts" });
  private readonly editor = jsonEditor("Data (JSON)", {});
  private readonly conflict = h("div", {});
  private readonly reloadButton = h("button", { type: "button", class: "secondary" }, "Reload");
  private loaded: Loaded;

  constructor(private readonly collection: string, private readonly id: string, loaded: Loaded) {
    this.loaded = loaded;
    const writable = can("data:write");
    const save = h("button", { type: "submit", disabled: !writable }, "Save");
    const reload = this.reloadButton;
    const del = h("button", { type: "button", class: "danger", disabled: !writable }, "Delete");
    reload.addEventListener("click", () => void busy(reload, null, () => this.reload()));
    del.addEventListener("click", () => confirmAction(del, "Delete this record? This cannot be undone.", "Yes, delete", () => this.remove()));
    const form = h("form", { novalidate: true }, this.editor.field, h("div", { class: "row" }, save, reload, del));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const data = readObject(this.editor.input, this.messages);
      if (data) void busy(save, null, () => this.save(data, this.loaded.etag));
    });
    this.element = h("div", {}, this.facts, this.messages, this.conflict, form);
    this.show(loaded);
  }

  private show(l: Loaded): void {
    this.loaded = l;
    replace(this.conflict);
    this.reloadButton.hidden = false;
    const r = l.record;
    const item = (term: string, value: string | number | HTMLElement): HTMLElement[] => [h("dt", {}, term), h("dd", {}, value)];
    replace(this.facts, item("ID", r.id), item("Collection", r.collection), item("Version", r.version),
      item("Created", when(r.createdAt)), item("Updated", when(r.updatedAt)), item("Created by", r.createdBy));
    this.editor.input.value = JSON.stringify(r.data, null, 2);
    this.editor.input.removeAttribute("aria-invalid");
    if (document.activeElement === document.body) this.editor.input.focus();
  }

  private async reload(): Promise<void> {
    const got = await fetchRecord(this.collection, this.id);
    if ("error" in got) return say(this.messages, got.error);
    this.show(got);
    say(this.messages, `Reloaded: version ${got.record.version}.`, "info");
  }

  /** save writes data if the record is still at the version etag names. */
  private async save(data: JSONObject, etag: string): Promise<void> {
    const res = await call(() => client.PUT("/api/collections/{collection}/records/{id}", {
      params: { path: { collection: this.collection, id: this.id }, header: { "If-Match": etag } }, body: { data },
    }));
    if (res.response.status === 412) return this.showConflict(data);
    if (!res.data) return say(this.messages, failed("Could not save the record.", res));
    this.show({ record: res.data.record, etag: res.response.headers.get("ETag") ?? `"${res.data.record.version}"` });
    say(this.messages, `Saved: version ${res.data.record.version}.`, "info");
  }

  /** showConflict shows both versions and lets the user reload or overwrite. */
  private async showConflict(mine: JSONObject): Promise<void> {
    const got = await fetchRecord(this.collection, this.id);
    if ("error" in got) return say(this.messages, `The record changed after you opened it, and now: ${got.error}`);
    replace(this.messages);
    this.reloadButton.hidden = true; // the conflict's own Reload stands in for it
    const current = got.record;
    const yours = h("textarea", { readonly: true, rows: 10 });
    yours.value = JSON.stringify(mine, null, 2);
    const theirs = h("textarea", { readonly: true, rows: 10 });
    theirs.value = JSON.stringify(current.data, null, 2);
    const reload = h("button", { type: "button", class: "secondary" }, "Reload");
    const overwrite = h("button", { type: "button", class: "danger" }, "Overwrite");
    reload.addEventListener("click", () => void busy(reload, null, () => this.reload()));
    overwrite.addEventListener("click", () => void busy(overwrite, null, () => this.save(mine, got.etag)));
    replace(this.conflict, h("div", { class: "card conflict" },
      h("h2", {}, "This record has changed"),
      alert(`Someone changed this record after you opened version ${this.loaded.record.version}: it is now at version ${current.version}. ` +
        "Reload to take their version (your changes are lost), or overwrite it with yours."),
      h("div", { class: "versions" }, field("Your version", yours), field(`Current version (version ${current.version})`, theirs)),
      h("div", { class: "row" }, reload, overwrite)));
    reload.focus();
  }

  private async remove(): Promise<void> {
    const res = await call(() => client.DELETE("/api/collections/{collection}/records/{id}", {
      params: { path: { collection: this.collection, id: this.id }, header: { "If-Match": this.loaded.etag } },
    }));
    if (res.response.status === 412) {
      return say(this.messages, "Could not delete the record: someone changed it after you opened it. Reload it, check it and try again.");
    }
    if (res.response.status !== 204) return say(this.messages, failed("Could not delete the record.", res));
    navigate(collectionPath(this.collection));
  }
}
