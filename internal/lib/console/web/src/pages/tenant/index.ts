// The tenant console's pages (a file each, registered here). The
// navigation lists a page only to users holding its permission; the server
// checks every request anyway.
import { register, type Route } from "../../router";
import { apiKeysPage } from "./apikeys";
import { auditPage } from "./audit";
import { homePage } from "./home";
import { invitationsPage } from "./invitations";
import { profilePage } from "./profile";
import { collectionPage, recordPage, recordsPage } from "./records";
import { rolesPage } from "./roles";
import { settingsPage } from "./settings";
import { usersPage } from "./users";

/** TenantPage is a route of the tenant plane. */
export type TenantPage = Omit<Route, "plane">;

const pages: TenantPage[] = [
  homePage, usersPage, rolesPage, invitationsPage, apiKeysPage, recordsPage, collectionPage, recordPage,
  auditPage, settingsPage, profilePage,
];

register(...pages.map((p): Route => ({ ...p, plane: "tenant" })));
