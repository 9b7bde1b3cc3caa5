package router

import (
	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/tenantdb"
)

// The API's views of a central admin and of an invitation, exported so
// that the command line's --json prints exactly what the HTTP API answers
// (as ViewTenant and ViewServer do for tenants and servers).

// AdminView is a central admin as the API shows it: never the password hash.
type AdminView = adminView

// ViewAdmin returns the API view of a.
func ViewAdmin(a *central.Admin) AdminView { return viewAdmin(a) }

// InvitationView is a tenant invitation as the API shows it: never its token.
type InvitationView = invitationView

// ViewInvitation returns the API view of i.
func ViewInvitation(i *tenantdb.Invitation) InvitationView { return viewInvitation(i) }
