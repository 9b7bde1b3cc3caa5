package router

import (
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/tenantdb"
)

// The JSON bodies the handlers answer with. Each is a Go type so that the
// OpenAPI document (apidoc.go) is derived from what the handlers encode,
// and the router tests check every answer against it.

type statusAnswer struct {
	Status string `json:"status" enum:"ok,ready"`
}

type adminAnswer struct {
	User adminView `json:"user"`
}

type adminsAnswer struct {
	Admins     []adminView `json:"admins"`
	NextCursor *string     `json:"nextCursor" doc:"the cursor of the next page; null on the last page"`
}

type tenantAnswer struct {
	Tenant TenantView `json:"tenant"`
}

type tenantsAnswer struct {
	Tenants    []TenantView `json:"tenants"`
	NextCursor *string      `json:"nextCursor" doc:"the cursor of the next page; null on the last page"`
}

type auditAnswer struct {
	Entries    []auditView `json:"entries"`
	NextCursor *string     `json:"nextCursor" doc:"the cursor of the next page; null on the last page"`
}

type serverAnswer struct {
	Server ServerView `json:"server"`
}

type serversAnswer struct {
	Servers []ServerView `json:"servers"`
}

type fleetStatusAnswer = provisioning.FleetStatus

type impersonationAnswer struct {
	AccessToken string         `json:"access_token" doc:"a tenant access token naming the superadmin in its act claim"`
	TokenType   string         `json:"token_type" enum:"Bearer"`
	ExpiresIn   int            `json:"expires_in" doc:"seconds"`
	User        impersonatedAs `json:"user"`
	Tenant      tenantRef      `json:"tenant"`
}

type impersonatedAs struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

type tenantUserAnswer struct {
	User tenantUserView `json:"user"`
}

type tenantUsersAnswer struct {
	Users      []tenantUserView `json:"users"`
	NextCursor *string          `json:"nextCursor" doc:"the cursor of the next page; null on the last page"`
}

type meAnswer struct {
	User           tenantUserView `json:"user"`
	Tenant         tenantRef      `json:"tenant"`
	ImpersonatedBy string         `json:"impersonatedBy,omitempty" doc:"the central admin acting as this user, when impersonated"`
}

type rolesAnswer struct {
	Roles []roleView `json:"roles"`
}

type roleAnswer struct {
	Role roleView `json:"role"`
}

type settingsAnswer struct {
	Settings tenantdb.Settings `json:"settings"`
}

type tenantAuditAnswer struct {
	Entries    []tenantAuditView `json:"entries"`
	NextCursor *string           `json:"nextCursor" doc:"the cursor of the next page; null on the last page"`
}

type invitationAnswer struct {
	Invitation invitationView `json:"invitation"`
	Token      string         `json:"token" doc:"the invitation token, shown once: the invitee accepts with it"`
}

type invitationsAnswer struct {
	Invitations []invitationView `json:"invitations"`
}

type apiKeyAnswer struct {
	APIKey apiKeyView `json:"apiKey"`
	Key    string     `json:"key" doc:"the key (silo_…), shown once"`
}

type apiKeysAnswer struct {
	APIKeys []apiKeyView `json:"apiKeys"`
}
