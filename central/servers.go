package central

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/silo-dev/silo/internal/lib/apperr"
)

// Database server statuses: an active server takes new tenants, a
// draining one keeps its tenants and takes no new ones, a disabled one
// takes none and serves none.
const (
	ServerActive   = "active"
	ServerDraining = "draining"
	ServerDisabled = "disabled"
)

// DefaultServer names the server of SILO_TENANT_ADMIN_DSN, registered at
// every start.
const DefaultServer = "default"

// Server is a row of the database-server registry. DSN never holds the
// password: PasswordEnc does, sealed with the master key.
type Server struct {
	Name        string         `db:"name"`
	Addr        string         `db:"addr"`
	DSN         string         `db:"dsn"`
	PasswordEnc []byte         `db:"password_enc"`
	Status      string         `db:"status"`
	Capacity    int            `db:"capacity"`
	Tenants     int            `db:"tenants"`
	LabelsJSON  string         `db:"labels"`
	ConnsMax    int            `db:"conns_max"`
	SparePool   sql.NullInt64  `db:"spare_pool"`
	Version     string         `db:"version"`
	LastError   sql.NullString `db:"last_error"`
	CheckedAt   sql.NullTime   `db:"checked_at"`
	CreatedAt   time.Time      `db:"created_at"`
	UpdatedAt   time.Time      `db:"updated_at"`
	Spares      int            `db:"spares"`
	Labels      Labels         `db:"-"`
}

// Labels describe a server (region=eu, tier=dedicated); a tenant may ask
// for servers carrying some of them.
type Labels map[string]string

// Has reports whether l carries every label of want.
func (l Labels) Has(want Labels) bool {
	for k, v := range want {
		if got, ok := l[k]; !ok || got != v {
			return false
		}
	}
	return true
}

var (
	serverName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)
	labelKey   = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,31}$`)
	labelValue = regexp.MustCompile(`^[A-Za-z0-9_.-]{0,63}$`)
)

// MaxLabels is how many labels a server (or a placement) may carry.
const MaxLabels = 16

// ValidServerName reports whether name may name a database server.
func ValidServerName(name string) bool { return serverName.MatchString(name) }

// CheckLabels adds to v what is wrong with labels, as field.
func CheckLabels(v *apperr.Validator, field string, labels Labels) {
	v.Check(len(labels) <= MaxLabels, field, fmt.Sprintf("at most %d labels", MaxLabels))
	keys := slices.Sorted(maps.Keys(labels))
	for _, k := range keys {
		v.Check(labelKey.MatchString(k), field, "label key "+strconv.Quote(k)+" must match ^[a-z][a-z0-9_.-]{0,31}$")
		v.Check(labelValue.MatchString(labels[k]), field, "label value of "+strconv.Quote(k)+" must match ^[A-Za-z0-9_.-]{0,63}$")
	}
}

// Free is how many more tenants the server may take.
func (s *Server) Free() int { return s.Capacity - s.Tenants }

const serverColumns = "name, addr, dsn, password_enc, status, capacity, tenants, labels, conns_max, spare_pool, version, last_error, checked_at, created_at, updated_at"

// Registry errors.
var (
	ErrServerNotFound = apperr.New(apperr.NotFound, "SERVER_NOT_FOUND", "Database server not found")
	ErrServerExists   = apperr.New(apperr.Conflict, "SERVER_EXISTS", "A database server with this name already exists")
	ErrServerInUse    = apperr.New(apperr.Conflict, "CONFLICT", "The database server still holds tenants or spare databases; move or purge them first")
	ErrNoCapacity     = apperr.New(apperr.Unavailable, "NO_CAPACITY", "No active database server has room for a new tenant")
)

func (s *Server) decode() error {
	s.Labels = Labels{}
	if s.LabelsJSON == "" {
		return nil
	}
	return json.Unmarshal([]byte(s.LabelsJSON), &s.Labels)
}

func encodeLabels(l Labels) string {
	if len(l) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(l) // a map of strings always encodes
	return string(b)
}

// Servers lists the registry by name, each with its count of spares.
func (c *Catalog) Servers(ctx context.Context) ([]Server, error) {
	var out []Server
	err := c.db.SelectContext(ctx, &out, "SELECT "+serverColumns+
		", (SELECT COUNT(*) FROM spare_databases d WHERE d.server = s.name) AS spares FROM db_servers s ORDER BY name")
	if err != nil {
		return nil, translate(err)
	}
	for i := range out {
		if err := out[i].decode(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Server returns the registered server name.
func (c *Catalog) Server(ctx context.Context, name string) (*Server, error) {
	var s Server
	err := c.db.GetContext(ctx, &s, "SELECT "+serverColumns+
		", (SELECT COUNT(*) FROM spare_databases d WHERE d.server = s.name) AS spares FROM db_servers s WHERE name = ?", name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrServerNotFound
	}
	if err != nil {
		return nil, translate(err)
	}
	return &s, s.decode()
}

// AddServer registers s (status, capacity and labels as given).
func (c *Catalog) AddServer(ctx context.Context, s *Server) error {
	return c.mutate(ctx, func(tx *sqlx.Tx) error {
		s.CreatedAt, s.UpdatedAt = c.now(), c.now()
		_, err := tx.ExecContext(ctx, "INSERT INTO db_servers ("+serverColumns+") VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
			s.Name, s.Addr, s.DSN, s.PasswordEnc, s.Status, s.Capacity, encodeLabels(s.Labels), s.ConnsMax, s.SparePool,
			s.Version, s.LastError, s.CheckedAt, s.CreatedAt, s.UpdatedAt)
		if isDuplicate(err) {
			return ErrServerExists
		}
		if err != nil {
			return translate(err)
		}
		return audit(ctx, tx, c.now(), "server.add", "server", s.Name, OutcomeSuccess, "at "+s.Addr)
	})
}

// ServerChange is what UpdateServer changes; nil fields stay.
type ServerChange struct {
	Status      *string
	Capacity    *int
	Labels      Labels // replaces the labels when not nil
	ConnsMax    *int
	SparePool   *sql.NullInt64
	Addr, DSN   *string
	PasswordEnc []byte // with DSN
	Version     *string
}

func (ch ServerChange) sets() (cols []string, args []any, what []string) {
	add := func(col string, v any, label string) {
		cols, args, what = append(cols, col+" = ?"), append(args, v), append(what, label)
	}
	if ch.Status != nil {
		add("status", *ch.Status, "status "+*ch.Status)
	}
	if ch.Capacity != nil {
		add("capacity", *ch.Capacity, "capacity")
	}
	if ch.Labels != nil {
		add("labels", encodeLabels(ch.Labels), "labels")
	}
	if ch.ConnsMax != nil {
		add("conns_max", *ch.ConnsMax, "connection cap")
	}
	if ch.SparePool != nil {
		add("spare_pool", *ch.SparePool, "spare pool")
	}
	if ch.DSN != nil {
		add("dsn", *ch.DSN, "dsn")
		add("addr", *ch.Addr, "address "+*ch.Addr)
		add("password_enc", ch.PasswordEnc, "password")
	}
	if ch.Version != nil {
		add("version", *ch.Version, "version")
	}
	return cols, args, what
}

// UpdateServer applies ch to the server name and returns it.
func (c *Catalog) UpdateServer(ctx context.Context, name string, ch ServerChange) (*Server, error) {
	cols, args, what := ch.sets()
	if len(cols) > 0 {
		err := c.mutate(ctx, func(tx *sqlx.Tx) error {
			args := append(append(args, c.now()), name)
			res, err := tx.ExecContext(ctx, "UPDATE db_servers SET "+strings.Join(cols, ", ")+", updated_at = ? WHERE name = ?", args...)
			if err != nil {
				return translate(err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				if err := tx.GetContext(ctx, new(string), "SELECT name FROM db_servers WHERE name = ?", name); errors.Is(err, sql.ErrNoRows) {
					return ErrServerNotFound
				}
			}
			return audit(ctx, tx, c.now(), "server.update", "server", name, OutcomeSuccess, strings.Join(what, ", "))
		})
		if err != nil {
			return nil, err
		}
	}
	return c.Server(ctx, name)
}

// RecordServerCheck stores the result of a connection check of name: the
// server's version, or the error (empty after a success). It is not a
// catalog change: instances do not reload for it.
func (c *Catalog) RecordServerCheck(ctx context.Context, name, version, errMsg string) error {
	if len(errMsg) > 1000 {
		errMsg = errMsg[:1000]
	}
	q := "UPDATE db_servers SET last_error = ?, checked_at = ?" // the version stays when the check failed
	args := []any{sql.NullString{String: errMsg, Valid: errMsg != ""}, c.now()}
	if version != "" {
		q += ", version = ?"
		args = append(args, version)
	}
	_, err := c.db.ExecContext(ctx, q+" WHERE name = ?", append(args, name)...)
	return translate(err)
}

// RemoveServer forgets the server name; it refuses while a tenant (even a
// deleted, unpurged one) or a spare database lives there.
func (c *Catalog) RemoveServer(ctx context.Context, name string) error {
	return c.mutate(ctx, func(tx *sqlx.Tx) error {
		var s Server
		err := tx.GetContext(ctx, &s, "SELECT "+serverColumns+", 0 AS spares FROM db_servers s WHERE name = ? FOR UPDATE", name)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrServerNotFound
		}
		if err != nil {
			return translate(err)
		}
		var held int
		err = tx.GetContext(ctx, &held, "SELECT (SELECT COUNT(*) FROM tenants WHERE server = ?) + (SELECT COUNT(*) FROM spare_databases WHERE server = ?)", name, name)
		if err != nil {
			return translate(err)
		}
		if held > 0 || s.Tenants > 0 {
			return ErrServerInUse
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM db_servers WHERE name = ?", name); err != nil {
			return translate(err)
		}
		return audit(ctx, tx, c.now(), "server.remove", "server", name, OutcomeSuccess, "at "+s.Addr)
	})
}

// RegisterDefault registers the server of SILO_TENANT_ADMIN_DSN as
// DefaultServer, or updates its address and credentials when they changed,
// so that an installation from before the registry keeps working. A new
// row counts the tenants already on it. samePassword reports whether a
// stored sealed password is s's (sealing is randomised, so the sealed
// forms differ).
func (c *Catalog) RegisterDefault(ctx context.Context, s *Server, samePassword func(sealed []byte) bool) error {
	cur, err := c.Server(ctx, DefaultServer)
	if errors.Is(err, ErrServerNotFound) {
		s.Name = DefaultServer
		err = c.AddServer(ctx, s)
		if errors.Is(err, ErrServerExists) {
			return c.RegisterDefault(ctx, s, samePassword) // another instance registered it first
		}
		if err != nil {
			return err
		}
		return c.recount(ctx, DefaultServer)
	}
	if err != nil {
		return err
	}
	if cur.DSN == s.DSN && cur.Addr == s.Addr && samePassword(cur.PasswordEnc) {
		return nil
	}
	_, err = c.UpdateServer(ctx, DefaultServer, ServerChange{DSN: &s.DSN, Addr: &s.Addr, PasswordEnc: s.PasswordEnc})
	return err
}

// recount sets a server's tenant count from the catalog.
func (c *Catalog) recount(ctx context.Context, name string) error {
	return c.mutate(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE db_servers SET tenants = (SELECT COUNT(*) FROM tenants WHERE server = ?) WHERE name = ?", name, name)
		return translate(err)
	})
}

// Placement is where a new tenant asks to go: a named server, or any
// active server carrying all of Labels.
type Placement struct {
	Server string
	Labels Labels
}

// place takes a slot on a server for a new tenant, in tx: the named one, or
// the active server carrying the wanted labels with the most free room. The
// slot is taken by a conditional update of the server's row, so that two
// creations never overfill a server.
func place(ctx context.Context, tx *sqlx.Tx, want Placement) (*Server, error) {
	var rows []Server
	err := tx.SelectContext(ctx, &rows, "SELECT "+serverColumns+", 0 AS spares FROM db_servers s")
	if err != nil {
		return nil, translate(err)
	}
	var candidates []Server
	for _, s := range rows {
		if err := s.decode(); err != nil {
			return nil, err
		}
		if want.Server != "" && s.Name != want.Server {
			continue
		}
		if want.Server != "" && s.Status != ServerActive {
			return nil, apperr.New(apperr.Conflict, "SERVER_NOT_ACTIVE", "Database server "+s.Name+" is "+s.Status+" and takes no new tenants")
		}
		if s.Status == ServerActive && s.Labels.Has(want.Labels) && s.Free() > 0 {
			candidates = append(candidates, s)
		}
	}
	if want.Server != "" && len(candidates) == 0 && !slicesHasServer(rows, want.Server) {
		return nil, apperr.Validation(apperr.FieldError{Field: "server", Message: "no database server is named " + want.Server})
	}
	sort.SliceStable(candidates, func(i, j int) bool {
		if candidates[i].Free() != candidates[j].Free() {
			return candidates[i].Free() > candidates[j].Free()
		}
		return candidates[i].Name < candidates[j].Name
	})
	for i := range candidates {
		s := &candidates[i]
		res, err := tx.ExecContext(ctx, "UPDATE db_servers SET tenants = tenants + 1 WHERE name = ? AND status = 'active' AND tenants < capacity", s.Name)
		if err != nil {
			return nil, translate(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return s, nil
		}
	}
	return nil, ErrNoCapacity
}

func slicesHasServer(rows []Server, name string) bool {
	for _, s := range rows {
		if s.Name == name {
			return true
		}
	}
	return false
}
