// Settings: the tenant's display name, logo, primary colour and public
// sign-up. Saved settings are applied to the console at once.
import { call, client, session } from "../../api";
import { alert, field, h, replace } from "../../ui";
import { applyBranding, brandMark, forgetBranding, type Branding } from "../../branding";
import { busy, can, failed, say, type Settings } from "../../widgets";
import type { TenantPage } from "./index";

export const settingsPage: TenantPage = {
  path: "/tenant/settings",
  nav: "Settings",
  permission: "settings:write",
  async render(main) {
    const res = await call(() => client.GET("/api/settings"));
    if (!res.data) return replace(main, h("h1", {}, "Settings"), alert(failed("Could not load the settings.", res)));
    replace(main, h("h1", {}, "Settings"), settingsForm(res.data.settings));
  },
};

function settingsForm(s: Settings): HTMLFormElement {
  const name = h("input", { name: "displayName", autocomplete: "off", maxlength: 200, value: s.displayName });
  const logo = h("input", { type: "url", name: "logoUrl", autocomplete: "off", placeholder: "https://example.com/logo.png", value: s.logoUrl });
  const color = h("input", { type: "color", name: "primaryColor", value: s.primaryColor || "#1f5fbf" });
  const plain = h("input", { type: "checkbox", name: "defaultColor", checked: !s.primaryColor });
  const signup = h("input", { type: "checkbox", name: "allowPublicSignup", checked: s.allowPublicSignup });
  color.addEventListener("input", () => {
    plain.checked = false;
  });
  const messages = h("div", {});
  const submit = h("button", { type: "submit" }, "Save");
  const form = h("form", { class: "card", novalidate: true }, messages,
    h("fieldset", { disabled: !can("settings:write") },
      h("legend", { class: "sr-only" }, "Tenant settings"),
      field("Display name", name),
      field("Logo URL", logo),
      h("p", { class: "muted" }, "An https:// address. The console shows it only when it is served from the console's own host."),
      field("Primary colour", color),
      h("label", { class: "check" }, plain, "Use the default colour"),
      h("label", { class: "check" }, signup, "Allow public sign-up"),
      h("p", { class: "muted" }, "When on, anyone can create an account (as a member) on the login page."),
      submit));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(submit, null, async () => {
      const body = {
        displayName: name.value.trim(), logoUrl: logo.value.trim(),
        primaryColor: plain.checked ? "" : color.value, allowPublicSignup: signup.checked,
      };
      const res = await call(() => client.PUT("/api/settings", { body }));
      if (!res.data) return say(messages, failed("Could not save the settings.", res));
      showBranding(res.data.settings);
      say(messages, "Settings saved.", "info");
    });
  });
  return form;
}

/** showBranding applies saved settings to the console at once: the colour, and the header's name and logo. */
function showBranding(saved: Settings): void {
  const slug = session()?.tenant ?? "";
  forgetBranding(slug); // the next page asks the server again
  const b: Branding = { slug, name: saved.displayName || slug, primaryColor: saved.primaryColor, logoUrl: saved.logoUrl,
    allowPublicSignup: saved.allowPublicSignup };
  applyBranding(b);
  document.querySelector("header.bar .brand")?.replaceChildren(brandMark(b, slug));
}
