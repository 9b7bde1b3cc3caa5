package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/router"
)

// The tenant commands that change what the HTTP API's PATCH
// /api/central/tenants/:slug and POST …/invitations change, through the
// same Provisioner methods (and so with the same checks and audit entries).

func (s *session) tenantInviteCmd() *cobra.Command {
	var email, role string
	var asJSON bool
	c := &cobra.Command{
		Use:   "invite SLUG --email EMAIL --role ROLE",
		Short: "invite a user into an active tenant and print the invitation's token",
		Long: `Invite EMAIL into the tenant with ROLE (tenant_admin, member or one of the tenant's
own roles), as a superadmin would through POST /api/central/tenants/SLUG/invitations.
The token is printed once: the invitee accepts it with POST /api/invitations/accept.
The invitation is recorded in the tenant's audit log and in the central one.`,
		Example: "  silo tenant invite acme --email boss@acme.io --role tenant_admin",
		Args:    positional(1, 1, ""),
	}
	c.RunE = s.tenantRunE(&asJSON, func() tenantAction {
		return tenantAction{run: func(ctx context.Context, p *provisioning.Provisioner, args []string, out output) error {
			inv, token, err := p.Invite(ctx, args[0], nil, "cli", email, role)
			if err != nil {
				return describeError(err, fieldNames{"email": "--email", "role": "--role"})
			}
			if out.json {
				return out.encode(map[string]any{"invitation": router.ViewInvitation(inv), "token": token})
			}
			_, err = fmt.Fprintf(out.w, "invited %s into %s as %s; the invitation expires at %s\ntoken (shown once): %s\n",
				inv.Email, args[0], inv.Role, inv.ExpiresAt.UTC().Format("2006-01-02 15:04:05Z"), token)
			return err
		}}
	})
	c.Flags().StringVar(&email, "email", "", "the invitee's `EMAIL`")
	c.Flags().StringVar(&role, "role", "", "the `ROLE` the invitee gets")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON: the invitation and its token, as the HTTP API answers")
	return c
}

func (s *session) tenantRenameCmd() *cobra.Command {
	var name string
	var asJSON bool
	c := &cobra.Command{
		Use:   "rename SLUG --name NAME",
		Short: "change a tenant's display name (its slug never changes)",
		Args:  positional(1, 1, ""),
	}
	c.RunE = s.tenantRunE(&asJSON, func() tenantAction {
		return tenantAction{run: func(ctx context.Context, p *provisioning.Provisioner, args []string, out output) error {
			t, err := p.Update(ctx, args[0], &name, nil)
			if err != nil {
				return describeError(err, fieldNames{"name": "--name"})
			}
			return out.tenant(t)
		}}
	})
	c.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if !cmd.Flags().Changed("name") {
			return usageError("missing --name; usage: " + cmd.UseLine())
		}
		return nil
	}
	c.Flags().StringVar(&name, "name", "", "the tenant's new display `NAME`")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (s *session) tenantDomainsCmd() *cobra.Command {
	return group("domains", "add or remove a tenant's custom domains",
		`Add or remove custom domains of a tenant: requests to a custom domain resolve to
its tenant. The other domains of the tenant are kept.`,
		s.tenantDomainsChangeCmd("add"), s.tenantDomainsChangeCmd("remove"))
}

// tenantDomainsChangeCmd is "tenant domains add|remove SLUG DOMAIN...": it
// reads the tenant's domains and writes the changed list as PATCH does.
func (s *session) tenantDomainsChangeCmd(action string) *cobra.Command {
	var asJSON bool
	short := map[string]string{"add": "add custom domains to a tenant", "remove": "remove custom domains from a tenant"}[action]
	c := &cobra.Command{Use: action + " SLUG DOMAIN...", Short: short, Args: positional(2, -1, "")}
	c.RunE = s.tenantRunE(&asJSON, func() tenantAction {
		return tenantAction{run: func(ctx context.Context, p *provisioning.Provisioner, args []string, out output) error {
			t, err := p.Get(ctx, args[0])
			if err != nil {
				return describeError(err, nil)
			}
			domains, err := changeDomains(t.Slug, t.Domains, action, args[1:])
			if err != nil {
				return err
			}
			if t, err = p.Update(ctx, t.Slug, nil, &domains); err != nil {
				return describeError(err, fieldNames{"domains": "DOMAIN"})
			}
			return out.tenant(t)
		}}
	})
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

// changeDomains is slug's domains with the given ones added or removed;
// adding one it has, or removing one it has not, is an error (a domain
// given twice to add is refused by the update itself).
func changeDomains(slug string, current []string, action string, given []string) ([]string, error) {
	out := slices.Clone(current)
	for _, raw := range given {
		d := provisioning.NormalizeDomain(raw)
		i := slices.Index(out, d)
		switch {
		case action == "add" && slices.Contains(current, d):
			return nil, fmt.Errorf("tenant %s already has the domain %s (nothing was changed)", slug, d)
		case action == "add":
			out = append(out, d)
		case i >= 0:
			out = slices.Delete(out, i, i+1)
		case slices.Contains(current, d):
			return nil, fmt.Errorf("the domain %s is given twice (nothing was changed)", d)
		default:
			return nil, fmt.Errorf("tenant %s has no domain %q (nothing was changed)", slug, d)
		}
	}
	return out, nil
}
