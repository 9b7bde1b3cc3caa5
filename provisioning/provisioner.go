package provisioning

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/semaphore"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/clock"
	"github.com/silo-dev/silo/internal/lib/login"
	"github.com/silo-dev/silo/internal/lib/page"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/internal/lib/token"
	"github.com/silo-dev/silo/migrations"
	"github.com/silo-dev/silo/tenantdb"
)

// Catalog is what provisioning needs of the tenant catalog.
type Catalog interface {
	Tenant(ctx context.Context, slug string) (*central.Tenant, error)
	Tenants(ctx context.Context, f central.TenantFilter) ([]central.Tenant, string, error)
	TenantsByStatus(ctx context.Context, statuses ...string) ([]central.Tenant, error)
	CreateTenant(ctx context.Context, t *central.Tenant, want central.Placement, claimSpare bool) (bool, error)
	SetStep(ctx context.Context, id, step string, schemaVersion int64) error
	SetProvisioning(ctx context.Context, id string) error
	FinishProvisioning(ctx context.Context, t *central.Tenant) error
	FailProvisioning(ctx context.Context, t *central.Tenant, lastError string) error
	ChangeStatus(ctx context.Context, slug string, from []string, to, action string) (*central.Tenant, error)
	UpdateTenant(ctx context.Context, slug string, name *string, domains []string, setDomains bool) (*central.Tenant, error)
	RemoveTenant(ctx context.Context, t *central.Tenant) error
	TryLock(ctx context.Context, name string) (func(), bool, error)
	Lock(ctx context.Context, name string, wait time.Duration) (func(), bool, error)
	RecordMigration(ctx context.Context, id string, version int64, errMsg string) error
	RecordSpareVersion(ctx context.Context, name string, version int64) error
	RecordSetVersion(ctx context.Context, database, set string, version int64, errMsg string) error
	RecordMigrations(ctx context.Context, recs []central.MigrationRecord) error
	SetVersions(ctx context.Context) (map[string]map[string]central.SetVersion, error)
	SetVersionsOf(ctx context.Context, database string) (map[string]central.SetVersion, error)
	Servers(ctx context.Context) ([]central.Server, error)
	AddSpare(ctx context.Context, s *central.Spare) error
	SpareReady(ctx context.Context, name string, schemaVersion int64) error
	RemoveSpare(ctx context.Context, name string) error
	Spares(ctx context.Context) ([]central.Spare, error)
	// RecordEvent writes a live event (see central.Events).
	RecordEvent(ctx context.Context, typ, tenant string, data any) error
}

// Server is what provisioning needs of the database server.
type Server interface {
	Addr() string
	CreateDatabase(ctx context.Context, name string) error
	CreateUser(ctx context.Context, user, password string) error
	Grant(ctx context.Context, user, database string) error
	GrantProblems(ctx context.Context, user, database string) ([]string, error)
	FixGrants(ctx context.Context, user, database string) (bool, error)
	Migrate(ctx context.Context, database string, set migrations.Set) (int64, error)
	MigrateTo(ctx context.Context, database string, set migrations.Set, up bool, to int64) (int64, error)
	Version(ctx context.Context, database string, set migrations.Set) (int64, error)
	// NewMigrator is a connection of its own for a fleet worker (see
	// tenantdb.Migrator).
	NewMigrator() (tenantdb.MigrationConn, error)
	LockUser(ctx context.Context, user string) error
	DropDatabase(ctx context.Context, name string) error
	DropUser(ctx context.Context, user string) error
	Databases(ctx context.Context, prefix string) ([]string, error)
	Users(ctx context.Context, prefix string) ([]string, error)
	CreateTenantUser(ctx context.Context, database, user, password string, u *tenantdb.User, roles ...string) error
	WithTenantDB(ctx context.Context, database, user, password string, fn func(*sqlx.DB) error) error
	// The shared connection mode's login and roles (see shared.go).
	EnsureSharedLogin(ctx context.Context, login, password string) error
	FixRole(ctx context.Context, role, database, login string) (bool, error)
	RoleProblems(ctx context.Context, role, database string) ([]string, error)
	RevokeRole(ctx context.Context, role, login string) error
	DropRole(ctx context.Context, role string) error
	SharedRoles(ctx context.Context, login string) (map[string]bool, error)
}

// Options configure a Provisioner.
type Options struct {
	// Clock stamps the tenant admin it creates (default clock.System).
	Clock  clock.Clock
	Prefix string // tenant database and DB user name prefix
	// CentralDatabase is the central database's name: never a tenant's,
	// never reported as an orphan even when it starts with Prefix.
	CentralDatabase string
	BaseDomain      string
	SparePool       int // spare databases to keep ready; 0 disables the pool
	Concurrency     int // provisioning runs at once (default 4)
	Log             *slog.Logger
	// Migrations are Silo's own tenant migrations (default migrations.Tenant()).
	Migrations fs.FS
	// AppSets are the application's tenant migration sets (see
	// migrations.NewSet), applied after Silo's own wherever those are: at
	// provisioning, to spares, and by fleet runs.
	AppSets []migrations.Set
	// PublicSignup is the allowPublicSignup setting new tenants start with
	// (SILO_DEFAULT_PUBLIC_SIGNUP; off unless set).
	PublicSignup bool
	// Audit is the central audit log, where central invitations and
	// impersonations are recorded (Invite and Impersonate need it).
	Audit *central.Audit
	// Keys sign impersonation tokens (Impersonate needs them).
	Keys *token.Keys
	// SharedConns is SILO_TENANT_CONN_MODE=shared: every tenant also gets a
	// role granted to the server's shared login (see shared.go).
	SharedConns bool
	// SharedPassword is the shared login's password (derived from the
	// master key), which provisioning sets on a server the first time it
	// grants a role there.
	SharedPassword string
	// Conns are this process's tenant connections, whose pool of a tenant
	// Provision closes; nil when the process holds none (the CLI).
	Conns *Connections
}

// Provisioner creates tenants and manages their lifecycle.
type Provisioner struct {
	catalog Catalog
	servers ServerSet
	box     *secretbox.Box
	guard   *login.Guard
	opts    Options
	latest  int64            // Silo's own set's newest version
	sets    []migrations.Set // Silo's own set, then the application's
	slots   *semaphore.Weighted
	refill  chan struct{}
	logins  sync.Map // servers (by address) whose shared login this process has ensured
	log     *slog.Logger

	// Hook, when set, runs before every provisioning step with the step's
	// name; an error from it fails the step. Tests inject faults with it.
	Hook func(step string) error
}

// New returns a Provisioner.
func New(catalog Catalog, servers ServerSet, box *secretbox.Box, guard *login.Guard, opts Options) *Provisioner {
	if opts.Concurrency < 1 {
		opts.Concurrency = 4
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Migrations == nil {
		opts.Migrations = migrations.Tenant()
	}
	return &Provisioner{
		catalog: catalog, servers: servers, box: box, guard: guard, opts: opts,
		latest: migrations.Latest(opts.Migrations),
		sets:   append([]migrations.Set{migrations.CoreSet(opts.Migrations)}, opts.AppSets...),
		slots:  semaphore.NewWeighted(int64(opts.Concurrency)),
		refill: make(chan struct{}, 1),
		log:    opts.Log,
	}
}

// Provisioning steps, in order. A tenant's catalog row records the last
// one completed; "created" means none yet, "done" means all.
const (
	stepCreated  = "created"
	stepDatabase = "database"
	stepUser     = "user"
	stepGrant    = "grant"
	stepMigrated = "migrated"
	stepAdmin    = "admin"
	stepDone     = "done"
)

var stepOrder = []string{stepCreated, stepDatabase, stepUser, stepGrant, stepMigrated, stepAdmin, stepDone}

func stepIndex(step string) int {
	for i, s := range stepOrder {
		if s == step {
			return i
		}
	}
	return 0
}

// Errors of provisioning.
var (
	ErrBusy = apperr.New(apperr.Conflict, "CONFLICT", "The tenant is being provisioned or changed by another request; retry shortly")
)

func errProvisioningFailed(slug, step string) error {
	return apperr.New(apperr.Unavailable, "PROVISIONING_FAILED",
		fmt.Sprintf("Provisioning failed at step %q; the tenant is marked failed. Retry with POST /api/central/tenants/%s/provision or silo tenant repair", step, slug))
}

// NewTenant is the input to Create.
type NewTenant struct {
	Slug    string
	Name    string
	Domains []string
	Admin   *NewAdmin
	// Server names the database server to place the tenant on; else
	// Labels, if any, must all be on the server chosen (see
	// central.Placement).
	Server string
	Labels map[string]string
}

// pendingAdmin is the first tenant_admin kept in the catalog until created.
type pendingAdmin struct {
	ID           string `json:"id"`
	Email        string `json:"email"`
	FirstName    string `json:"firstName"`
	LastName     string `json:"lastName"`
	PasswordHash string `json:"passwordHash"`
}

// Create validates in, records the tenant and provisions it. It returns once
// the tenant is active, or with PROVISIONING_FAILED (the tenant is then
// `failed` and Provision resumes it).
func (p *Provisioner) Create(ctx context.Context, in NewTenant) (*central.Tenant, error) {
	var v apperr.Validator
	checkSlug(&v, in.Slug)
	checkTenantName(&v, in.Name)
	domains := normalizeDomains(&v, in.Domains, p.opts.BaseDomain)
	v.Check(in.Server == "" || central.ValidServerName(in.Server), "server", "must match ^[a-z][a-z0-9-]{0,30}$")
	central.CheckLabels(&v, "labels", in.Labels)
	if in.Admin != nil {
		in.Admin.check(&v)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	t := &central.Tenant{
		ID: central.NewTenantID(), Slug: in.Slug, Name: strings.TrimSpace(in.Name), Domains: domains,
		Status: central.StatusProvisioning, Step: stepCreated,
		DatabaseName: p.opts.Prefix + strings.ReplaceAll(in.Slug, "-", "_"),
		DBUser:       p.newUserName(),
	}
	password := tenantdb.NewPassword()
	t.DBPasswordEnc = p.box.Seal([]byte(password), []byte(t.DBUser))
	if in.Admin != nil {
		hash, err := p.guard.Hash(ctx, in.Admin.Password)
		if err != nil {
			return nil, err
		}
		pa, _ := json.Marshal(pendingAdmin{
			ID: central.NewTenantID(), Email: in.Admin.Email, FirstName: in.Admin.FirstName,
			LastName: in.Admin.LastName, PasswordHash: hash,
		})
		t.PendingAdmin = sql.NullString{String: string(pa), Valid: true}
	}

	release, err := p.lock(ctx, in.Slug, central.ErrTenantExists)
	if err != nil {
		return nil, err
	}
	defer release()
	if err := p.acquire(ctx); err != nil {
		return nil, err
	}
	defer p.slots.Release(1)
	claimed, err := p.catalog.CreateTenant(ctx, t, central.Placement{Server: in.Server, Labels: in.Labels}, true)
	if err != nil {
		return nil, err
	}
	if claimed {
		p.requestRefill()
	}
	return p.run(ctx, t, claimed)
}

// newUserName returns a fresh DB user name: prefix, "u", 12 hex digits (at
// most 29 characters, within MySQL 8's 32).
func (p *Provisioner) newUserName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return p.opts.Prefix + "u" + hex.EncodeToString(b)
}

// lock takes the per-slug lock without waiting; busy is returned when
// another request or instance holds it.
func (p *Provisioner) lock(ctx context.Context, slug string, busy error) (func(), error) {
	release, ok, err := p.catalog.TryLock(ctx, "tenant:"+slug)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, busy
	}
	return release, nil
}

func (p *Provisioner) acquire(ctx context.Context) error {
	if err := p.slots.Acquire(ctx, 1); err != nil {
		return apperr.Wrap(apperr.Unavailable, "TIMEOUT", "Too many tenants are being provisioned; retry shortly", err)
	}
	return nil
}

// run performs every step after the tenant's recorded one. The caller
// holds the tenant's lock and a provisioning slot. A tenant that took over
// a spare (fromSpare) first has the spare's account redone and proven:
// whatever happened to it while it waited in the pool, the tenant never
// starts with a missing or broken DB user.
func (p *Provisioner) run(ctx context.Context, t *central.Tenant, fromSpare bool) (*central.Tenant, error) {
	password, err := p.password(t.DBUser, t.DBPasswordEnc)
	if err != nil {
		return nil, err
	}
	// Provisioning must finish even if the client goes away.
	ctx = context.WithoutCancel(ctx)
	srv, err := p.servers.Get(ctx, t.Server)
	if err != nil {
		return nil, p.fail(ctx, t, stepOrder[stepIndex(t.Step)+1], err, password)
	}
	if fromSpare {
		if err := p.redoAccount(ctx, srv, t.DBUser, t.DatabaseName, password); err != nil {
			return nil, p.fail(ctx, t, stepGrant, err, password)
		}
	}
	for i := stepIndex(t.Step) + 1; i < len(stepOrder)-1; i++ {
		step := stepOrder[i]
		version, err := p.runStep(ctx, srv, t, step, password)
		if err != nil {
			return nil, p.fail(ctx, t, step, err, password)
		}
		if err := p.catalog.SetStep(ctx, t.ID, step, version); err != nil {
			return nil, err
		}
		t.Step = step
	}
	if stepIndex(t.Step) > stepIndex(stepMigrated) && p.behind(ctx, t.DatabaseName, t.SchemaVersion) {
		// A spare claimed before an upgrade: bring it to the latest schema.
		v, err := p.migrateAll(ctx, srv, t.DatabaseName)
		if err != nil {
			return nil, p.fail(ctx, t, stepMigrated, err, password)
		}
		if err := p.catalog.SetStep(ctx, t.ID, t.Step, v); err != nil {
			return nil, err
		}
	}
	if err := p.catalog.FinishProvisioning(ctx, t); err != nil {
		return nil, err
	}
	return p.catalog.Tenant(ctx, t.Slug)
}

// fail records a failed step (without the DB password) and returns the
// error the caller answers with.
func (p *Provisioner) fail(ctx context.Context, t *central.Tenant, step string, err error, password string) error {
	msg := "step " + step + ": " + strings.ReplaceAll(err.Error(), password, "[redacted]")
	p.log.ErrorContext(ctx, "tenant provisioning failed", "tenant", t.Slug, "step", step, "err", msg)
	if ferr := p.catalog.FailProvisioning(ctx, t, msg); ferr != nil {
		p.log.ErrorContext(ctx, "recording the provisioning failure failed", "tenant", t.Slug, "err", ferr)
	}
	return errProvisioningFailed(t.Slug, step)
}

func (p *Provisioner) runStep(ctx context.Context, srv Server, t *central.Tenant, step, password string) (int64, error) {
	if p.Hook != nil {
		if err := p.Hook(step); err != nil {
			return 0, err
		}
	}
	switch step {
	case stepDatabase:
		return 0, srv.CreateDatabase(ctx, t.DatabaseName)
	case stepUser:
		return 0, srv.CreateUser(ctx, t.DBUser, password)
	case stepGrant:
		if _, err := srv.FixGrants(ctx, t.DBUser, t.DatabaseName); err != nil {
			return 0, err
		}
		return 0, p.fixRole(ctx, srv, t.DBUser, t.DatabaseName)
	case stepMigrated:
		v, err := p.migrateAll(ctx, srv, t.DatabaseName)
		t.SchemaVersion = v
		return v, err
	case stepAdmin:
		return 0, p.initTenant(ctx, srv, t, password)
	}
	return 0, fmt.Errorf("unknown step %q", step)
}

// now is the time the provisioner stamps what it writes with.
func (p *Provisioner) now() time.Time {
	if p.opts.Clock != nil {
		return p.opts.Clock()
	}
	return clock.Now()
}

// initTenant gives a new tenant its default settings (public sign-up as
// configured) and creates its first tenant_admin, if one was given.
// Connecting as the tenant's own user also proves its grants work.
func (p *Provisioner) initTenant(ctx context.Context, srv Server, t *central.Tenant, password string) error {
	var admin *tenantdb.User
	if t.PendingAdmin.Valid {
		var pa pendingAdmin
		if err := json.Unmarshal([]byte(t.PendingAdmin.String), &pa); err != nil {
			return err
		}
		now := p.now()
		admin = &tenantdb.User{ID: pa.ID, Email: pa.Email, PasswordHash: pa.PasswordHash, FirstName: pa.FirstName,
			LastName: pa.LastName, IsActive: true, CreatedAt: now, UpdatedAt: now}
	}
	return srv.WithTenantDB(ctx, t.DatabaseName, t.DBUser, password, func(db *sqlx.DB) error {
		if err := tenantdb.SetPublicSignup(ctx, db, p.opts.PublicSignup, p.now()); err != nil {
			return err
		}
		if admin == nil {
			return nil
		}
		return tenantdb.CreateUser(ctx, db, admin, tenantdb.RoleTenantAdmin)
	})
}

// Provision resumes a failed or interrupted provisioning from its recorded
// step. For a tenant already active or suspended it redoes the DB user,
// password and grant steps (see repairAccount). Either way the tenant's
// pooled connections (Options.Conns) are then closed, so that the next
// request uses the account as it is now.
func (p *Provisioner) Provision(ctx context.Context, slug string) (*central.Tenant, error) {
	t, err := p.provision(ctx, slug)
	if t != nil && p.opts.Conns != nil {
		p.opts.Conns.Forget(t)
	}
	return t, err
}

func (p *Provisioner) provision(ctx context.Context, slug string) (*central.Tenant, error) {
	if !SlugPattern.MatchString(slug) {
		return nil, central.ErrTenantNotFound
	}
	release, err := p.lock(ctx, slug, ErrBusy)
	if err != nil {
		return nil, err
	}
	defer release()
	return p.resumeLocked(ctx, slug)
}

func (p *Provisioner) resumeLocked(ctx context.Context, slug string) (*central.Tenant, error) {
	t, err := p.catalog.Tenant(ctx, slug)
	if err != nil {
		return nil, err
	}
	switch t.Status {
	case central.StatusActive, central.StatusSuspended:
		return t, p.repairAccount(ctx, t)
	case central.StatusDeleted:
		return nil, central.ErrWrongStatus(t.Status)
	}
	if err := p.acquire(ctx); err != nil {
		return nil, err
	}
	defer p.slots.Release(1)
	if err := p.catalog.SetProvisioning(ctx, t.ID); err != nil {
		return nil, err
	}
	// Every step is idempotent, so a resume runs them all again rather than
	// trusting the record: whatever was undone since (a dropped DB user, a
	// database restored from an older backup) is put right too.
	t.Step = stepCreated
	return p.run(ctx, t, false)
}

// ResumeStuck resumes every tenant left in `provisioning` by a process that
// died (its lock is free). It returns the slugs it resumed successfully.
func (p *Provisioner) ResumeStuck(ctx context.Context) ([]string, error) {
	return p.resumeAll(ctx, central.StatusProvisioning)
}

// Repair resumes every stuck or failed tenant.
func (p *Provisioner) Repair(ctx context.Context) ([]string, error) {
	return p.resumeAll(ctx, central.StatusProvisioning, central.StatusFailed)
}

func (p *Provisioner) resumeAll(ctx context.Context, statuses ...string) ([]string, error) {
	ts, err := p.catalog.TenantsByStatus(ctx, statuses...)
	if err != nil {
		return nil, err
	}
	var done []string
	var errs []error
	for _, t := range ts {
		release, ok, err := p.catalog.TryLock(ctx, "tenant:"+t.Slug)
		if err != nil {
			return done, err
		}
		if !ok {
			continue // a live process is provisioning it
		}
		_, err = p.resumeLocked(ctx, t.Slug)
		release()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Slug, err))
			continue
		}
		p.log.InfoContext(ctx, "resumed tenant provisioning", "tenant", t.Slug, "from", t.Step)
		done = append(done, t.Slug)
	}
	return done, errors.Join(errs...)
}

// Suspend makes an active tenant refuse requests.
func (p *Provisioner) Suspend(ctx context.Context, slug string) (*central.Tenant, error) {
	return p.catalog.ChangeStatus(ctx, slug, []string{central.StatusActive}, central.StatusSuspended, "tenant.suspend")
}

// Resume reactivates a suspended tenant.
func (p *Provisioner) Resume(ctx context.Context, slug string) (*central.Tenant, error) {
	return p.catalog.ChangeStatus(ctx, slug, []string{central.StatusSuspended}, central.StatusActive, "tenant.resume")
}

// Delete marks a tenant deleted, keeping its database and locking its DB
// user; with purge it drops the database and the DB user, then forgets the
// tenant. Purge works from any status, so it also cleans up failed tenants.
func (p *Provisioner) Delete(ctx context.Context, slug string, purge bool) error {
	if !SlugPattern.MatchString(slug) {
		return central.ErrTenantNotFound
	}
	release, err := p.lock(ctx, slug, ErrBusy)
	if err != nil {
		return err
	}
	defer release()
	t, err := p.catalog.Tenant(ctx, slug)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	srv, err := p.servers.Get(ctx, t.Server)
	if err != nil {
		return err
	}
	if !purge {
		// Lock the DB user first: if that fails the tenant is not yet
		// marked deleted, and a retry locks it again.
		if err := srv.LockUser(ctx, t.DBUser); err != nil {
			return err
		}
		if err := p.revokeRole(ctx, srv, t.DBUser); err != nil {
			return err
		}
		if t.Status == central.StatusDeleted {
			return nil
		}
		from := []string{central.StatusActive, central.StatusSuspended, central.StatusFailed, central.StatusProvisioning}
		_, err := p.catalog.ChangeStatus(ctx, slug, from, central.StatusDeleted, "tenant.delete")
		return err
	}
	// Drop first, forget last: if a drop fails, the catalog still knows
	// what to purge on the next try.
	if err := srv.DropDatabase(ctx, t.DatabaseName); err != nil {
		return err
	}
	if err := srv.DropUser(ctx, t.DBUser); err != nil {
		return err
	}
	if err := p.dropRole(ctx, srv, t.DBUser); err != nil {
		return err
	}
	return p.catalog.RemoveTenant(ctx, t)
}

// Update changes a tenant's name and/or its custom domains.
func (p *Provisioner) Update(ctx context.Context, slug string, name *string, domains *[]string) (*central.Tenant, error) {
	var v apperr.Validator
	if name != nil {
		checkTenantName(&v, *name)
		trimmed := strings.TrimSpace(*name)
		name = &trimmed
	}
	var ds []string
	if domains != nil {
		ds = normalizeDomains(&v, *domains, p.opts.BaseDomain)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !SlugPattern.MatchString(slug) {
		return nil, central.ErrTenantNotFound
	}
	return p.catalog.UpdateTenant(ctx, slug, name, ds, domains != nil)
}

// Get returns one tenant.
func (p *Provisioner) Get(ctx context.Context, slug string) (*central.Tenant, error) {
	if !SlugPattern.MatchString(slug) {
		return nil, central.ErrTenantNotFound
	}
	return p.catalog.Tenant(ctx, slug)
}

var statuses = map[string]bool{
	central.StatusProvisioning: true, central.StatusActive: true, central.StatusSuspended: true,
	central.StatusFailed: true, central.StatusDeleted: true,
}

// List lists tenants matching f.
func (p *Provisioner) List(ctx context.Context, f central.TenantFilter) ([]central.Tenant, string, error) {
	var v apperr.Validator
	v.Check(f.Status == "" || statuses[f.Status], "status", "must be provisioning, active, suspended, failed or deleted")
	v.Check(utf8Valid(f.Query) && len(f.Query) <= 200, "q", "must be valid UTF-8, at most 200 bytes")
	page.CheckAfter(&v, f.Cursor)
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	return p.catalog.Tenants(ctx, f)
}

// migrateAll brings database to the latest version of every migration set,
// Silo's own first, records the application sets' versions, and returns
// the version of Silo's own set.
func (p *Provisioner) migrateAll(ctx context.Context, srv Server, database string) (int64, error) {
	v, err := srv.Migrate(ctx, database, p.sets[0])
	if err != nil {
		return v, err
	}
	for _, set := range p.sets[1:] {
		sv, err := srv.Migrate(ctx, database, set)
		if err != nil {
			err = fmt.Errorf("migration set %s: %w", set.Name, err)
		}
		if rerr := p.recordSet(ctx, database, set.Name, sv, err); rerr != nil && err == nil {
			err = rerr
		}
		if err != nil {
			return v, err
		}
	}
	return v, nil
}

// recordSet stores an application set's version in database after a run
// that ended with err (nil for a success).
func (p *Provisioner) recordSet(ctx context.Context, database, set string, version int64, err error) error {
	msg := ""
	if err != nil {
		msg = p.safeError(err)
	}
	return p.catalog.RecordSetVersion(context.WithoutCancel(ctx), database, set, max(version, 0), msg)
}

// behind reports whether database, at version core of Silo's own set, lacks
// a migration of any set (a spare built by an older binary).
func (p *Provisioner) behind(ctx context.Context, database string, core int64) bool {
	if core < p.latest {
		return true
	}
	if len(p.sets) == 1 {
		return false
	}
	got, err := p.catalog.SetVersionsOf(ctx, database)
	if err != nil {
		return true // migrating again is harmless; goose finds what is applied
	}
	for _, set := range p.sets[1:] {
		if got[set.Name].Version < set.Latest() {
			return true
		}
	}
	return false
}
