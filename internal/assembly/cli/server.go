package cli

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/router"
)

func serverCmd(s *session) *cobra.Command {
	return group("server", "manage the database servers that hold tenant databases",
		`Manage the registry of database servers (MySQL 8.4, MariaDB 10.11) that hold tenant
databases. A server is added with its admin account's DSN, checked first; --dsn -
reads the DSN from stdin's first line and --dsn-file from a file, so that the
password appears neither in the shell history nor in the process list. Every
command takes --json; each change is recorded in the central audit log.`,
		s.serverLeaf("add NAME (--dsn DSN | --dsn - | --dsn-file PATH)", "register a database server after checking its version and privileges"),
		s.serverLeaf("list", "list the registered database servers"),
		s.serverLeaf("get NAME", "show one database server"),
		s.serverLeaf("check NAME", "connect with the stored credentials; record and show the outcome (exit 1 on a failure)"),
		s.serverLeaf("set NAME", "change a server's status, capacity, labels, DSN, connection cap or spare pool"),
		s.serverLeaf("drain NAME", "keep a server's tenants but place no new ones there (status draining)"),
		s.serverLeaf("remove NAME", "forget a server no tenant or spare lives on (asks first)"))
}

// serverFlags holds the flags of a server command.
type serverFlags struct {
	asJSON, yes, noLabels       bool
	dsn, dsnFile, status, spare string
	capacity, connsMax          int
	labels                      []string
	set                         map[string]bool // the flags given
}

// serverLeaf builds one server command from its usage: its name, the
// NAME it takes (all but list) and the flags that apply to it.
func (s *session) serverLeaf(use, short string) *cobra.Command {
	var f serverFlags
	c := &cobra.Command{Use: use, Short: short, Args: positional(1, 1, "")}
	sub := strings.Fields(use)[0]
	if sub == "list" {
		c.Args = positional(0, 0, "")
	}
	f.register(c.Flags(), sub)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		f.set = map[string]bool{}
		cmd.Flags().Visit(func(fl *pflag.Flag) { f.set[fl.Name] = true })
		name := ""
		if len(args) == 1 {
			name = args[0]
		}
		return s.runServer(cmd.Context(), sub, name, &f)
	}
	return c
}

func (f *serverFlags) register(fs *pflag.FlagSet, sub string) {
	switch sub {
	case "add", "set":
		fs.StringVar(&f.dsn, "dsn", "", "the admin account's `DSN`, user:password@tcp(host:port)/ (- reads it from stdin)")
		fs.StringVar(&f.dsnFile, "dsn-file", "", "read the DSN from the file at `PATH`")
		fs.IntVar(&f.capacity, "capacity", provisioning.DefaultCapacity, "how many tenants the server may hold")
		fs.StringArrayVar(&f.labels, "label", nil, "a label (`KEY=VALUE`) of the server (repeatable; set replaces every label)")
		fs.IntVar(&f.connsMax, "conns-max", 0, "each instance's cap on tenant connections to this server (0: SILO_TENANT_CONNS_MAX)")
		fs.StringVar(&f.spare, "spare-pool", "", "spare databases kept ready on this server: `N`, or default (SILO_SPARE_POOL_SIZE)")
	case "remove":
		fs.BoolVar(&f.yes, "yes", false, "remove without asking")
	}
	if sub == "set" {
		fs.StringVar(&f.status, "status", "", "the server's `STATUS`: active, draining or disabled")
		fs.BoolVar(&f.noLabels, "no-labels", false, "remove every label")
	}
	fs.BoolVar(&f.asJSON, "json", false, "print JSON")
}

// runServer runs "silo server SUB [NAME]" once its flags are parsed.
func (s *session) runServer(ctx context.Context, sub, name string, f *serverFlags) error {
	cfg, err := s.config(true)
	if err != nil {
		return err
	}
	if err := f.readDSN(s.con.in); err != nil {
		return err
	}
	if sub == "remove" {
		what := fmt.Sprintf("This removes database server %s from the registry.", name)
		if err := s.con.confirm(s.stderr, f.yes, what, name); err != nil {
			return err
		}
	}
	admin, closeApp, err := s.openServerAdmin(ctx, cfg, sub == "list" || sub == "get")
	if err != nil {
		return err
	}
	defer closeApp()
	return runServer(s.asOperator(ctx), admin, sub, name, f, output{w: s.stdout, json: f.asJSON})
}

// readDSN takes the DSN from stdin (--dsn -) or from --dsn-file.
func (f *serverFlags) readDSN(stdin io.Reader) error {
	switch {
	case f.dsnFile != "" && f.set["dsn"]:
		return usageError("give --dsn or --dsn-file, not both")
	case f.dsnFile != "":
		b, err := os.ReadFile(f.dsnFile)
		if err != nil {
			return fmt.Errorf("could not read the DSN: %w", err)
		}
		f.dsn, f.set["dsn"] = strings.TrimSpace(string(b)), true
	case f.dsn == "-":
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("could not read the DSN from stdin: %w", err)
		}
		f.dsn = strings.TrimSpace(line)
	}
	return nil
}

// openServerAdmin opens Silo (read-only commands: without creating or
// migrating the central database) and the registry's administration.
func (s *session) openServerAdmin(ctx context.Context, cfg *config.Config, readOnly bool) (*provisioning.ServerAdmin, func(), error) {
	box, err := secretbox.New(cfg.MasterKey)
	if err != nil {
		return nil, nil, err
	}
	a, err := s.openApp(ctx, cfg, readOnly)
	if err != nil {
		return nil, nil, err
	}
	catalog := central.NewCatalog(a.CentralDB(), cfg.CentralDSN.DBName)
	return provisioning.NewServerAdmin(catalog, box), a.Close, nil
}

// serverFields name the registry's fields as the server commands take them.
var serverFields = fieldNames{
	"name": "the name", "dsn": "--dsn", "status": "--status", "capacity": "--capacity", "labels": "--label",
	"connsMax": "--conns-max", "sparePool": "--spare-pool",
}

// runServer runs one server command once its flags are checked and the
// central database is open.
func runServer(ctx context.Context, a *provisioning.ServerAdmin, sub, name string, f *serverFlags, out output) error {
	var s *central.Server
	var err error
	switch sub {
	case "list":
		ss, err := a.ListServers(ctx)
		if err != nil {
			return describeError(err, serverFields)
		}
		return out.serverList(ss)
	case "get":
		s, err = a.GetServer(ctx, name)
	case "check":
		var missing []string
		s, missing, err = a.CheckServer(ctx, name)
		if err == nil && (len(missing) > 0 || s.LastError.Valid) {
			if perr := out.servers(s); perr != nil {
				return perr
			}
			return errors.New("database server " + name + " failed its check: " + s.LastError.String)
		}
	case "add":
		in, berr := f.newServer(name)
		if berr != nil {
			return berr
		}
		s, err = a.AddServer(ctx, in)
	case "set", "drain":
		p, berr := f.patch(sub)
		if berr != nil {
			return berr
		}
		s, err = a.UpdateServer(ctx, name, p)
	case "remove":
		if err := a.RemoveServer(ctx, name); err != nil {
			return describeError(err, serverFields)
		}
		return out.message(map[string]string{"name": name, "result": "removed"}, "database server "+name+" removed")
	}
	if err != nil {
		return describeError(err, serverFields)
	}
	return out.servers(s)
}

func (f *serverFlags) newServer(name string) (provisioning.NewServer, error) {
	in := provisioning.NewServer{Name: name, DSN: f.dsn, Capacity: &f.capacity, ConnsMax: f.connsMax}
	var err error
	if in.Labels, err = parseLabels(f.labels); err != nil {
		return in, err
	}
	if f.set["spare-pool"] && f.spare != "default" {
		n, err := strconv.Atoi(f.spare)
		if err != nil {
			return in, usageError("--spare-pool must be a whole number or default")
		}
		in.SparePool = &n
	}
	return in, nil
}

func (f *serverFlags) patch(sub string) (provisioning.ServerPatch, error) {
	var p provisioning.ServerPatch
	if sub == "drain" {
		status := central.ServerDraining
		p.Status = &status
		return p, nil
	}
	if f.set["status"] {
		p.Status = &f.status
	}
	if f.set["capacity"] {
		p.Capacity = &f.capacity
	}
	if f.set["conns-max"] {
		p.ConnsMax = &f.connsMax
	}
	if f.set["dsn"] {
		p.DSN = &f.dsn
	}
	if f.set["label"] || f.noLabels {
		labels, err := parseLabels(f.labels)
		if err != nil {
			return p, err
		}
		p.Labels = &labels
	}
	if f.set["spare-pool"] {
		p.SparePool = &sql.NullInt64{}
		if f.spare != "default" {
			n, err := strconv.Atoi(f.spare)
			if err != nil {
				return p, usageError("--spare-pool must be a whole number or default")
			}
			*p.SparePool = sql.NullInt64{Int64: int64(n), Valid: true}
		}
	}
	return p, nil
}

// parseLabels reads KEY=VALUE labels (--label).
func parseLabels(flags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, usageError(fmt.Sprintf("--label must be key=value, not %q", kv))
		}
		out[k] = v
	}
	return out, nil
}

// servers prints one server (a JSON object).
func (o output) servers(s *central.Server) error {
	if o.json {
		return o.encode(router.ViewServer(s))
	}
	return o.serverTable([]central.Server{*s})
}

// serverList prints a list of servers (a JSON array, even of one).
func (o output) serverList(ss []central.Server) error {
	if o.json {
		views := make([]router.ServerView, 0, len(ss))
		for i := range ss {
			views = append(views, router.ViewServer(&ss[i]))
		}
		return o.encode(views)
	}
	return o.serverTable(ss)
}

// serverTable prints servers as a table; a server's last error is a note
// below it.
func (o output) serverTable(ss []central.Server) error {
	t := newTable(o.w, "NAME", "HOST", "STATUS", "TENANTS", "CAPACITY", "SPARES", "LABELS", "VERSION", "LAST ERROR")
	for _, s := range ss {
		labels := make([]string, 0, len(s.Labels))
		for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
			labels = append(labels, k+"="+s.Labels[k])
		}
		t.row(s.Name, s.Addr, s.Status, strconv.Itoa(s.Tenants), strconv.Itoa(s.Capacity), strconv.Itoa(s.Spares),
			strings.Join(labels, ","), s.Version, t.note(s.Name, s.LastError.String))
	}
	return t.flush()
}
