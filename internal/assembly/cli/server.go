package cli

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/config"
	"github.com/silo-dev/silo/internal/assembly/app"
	"github.com/silo-dev/silo/internal/lib/secretbox"
	"github.com/silo-dev/silo/provisioning"
	"github.com/silo-dev/silo/router"
)

const serverUsage = `usage: silo server <command> [flags]
  add NAME (--dsn DSN | --dsn - | --dsn-file PATH) [--capacity N] [--label k=v]... [--conns-max N] [--spare-pool N]
  list
  get NAME
  check NAME                 connect with the stored credentials; record and show the outcome
  set NAME [--status active|draining|disabled] [--capacity N] [--label k=v]... [--no-labels]
           [--dsn DSN | --dsn - | --dsn-file PATH] [--conns-max N] [--spare-pool N|default]
           (--label replaces every label of the server)
  drain NAME                 keep its tenants, place no new ones there (status draining)
  remove NAME [--yes]        only when no tenant or spare lives there; asks you to type NAME on a terminal
--dsn - reads the DSN from stdin's first line, --dsn-file from a file, so that the password
appears neither in the shell history nor in the process list
every command takes --json for machine-readable output`

// serverFlags holds the flags of every server command; each command
// registers only its own.
type serverFlags struct {
	asJSON, yes, noLabels       bool
	dsn, dsnFile, status, spare string
	capacity, connsMax          int
	labels                      stringList
	set                         map[string]bool // the flags given
}

func (f *serverFlags) register(fs *flag.FlagSet, sub string) {
	fs.BoolVar(&f.asJSON, "json", false, "print JSON")
	switch sub {
	case "add", "set":
		fs.StringVar(&f.dsn, "dsn", "", "the admin account's DSN, user:password@tcp(host:port)/ (- reads it from stdin)")
		fs.StringVar(&f.dsnFile, "dsn-file", "", "read the DSN from this file")
		fs.IntVar(&f.capacity, "capacity", provisioning.DefaultCapacity, "how many tenants the server may hold")
		fs.Var(&f.labels, "label", "label k=v (repeatable)")
		fs.IntVar(&f.connsMax, "conns-max", 0, "each instance's cap on tenant connections to this server (0: SILO_TENANT_CONNS_MAX)")
		fs.StringVar(&f.spare, "spare-pool", "", "spare databases kept ready on this server (default: SILO_SPARE_POOL_SIZE)")
	case "remove":
		fs.BoolVar(&f.yes, "yes", false, "remove without asking")
	}
	if sub == "set" {
		fs.StringVar(&f.status, "status", "", "active, draining or disabled")
		fs.BoolVar(&f.noLabels, "no-labels", false, "remove every label")
	}
}

// serverCmd runs "silo server ...".
func serverCmd(ctx context.Context, ext app.Extensions, args []string, getenv func(string) string, con console, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError(serverUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "add", "list", "get", "check", "set", "drain", "remove":
	default:
		return usageError(serverUsage)
	}
	var f serverFlags
	var fs *flag.FlagSet
	cfg, rest, err := loadConfig("server "+sub, args, getenv, stderr, true, func(s *flag.FlagSet) { fs = s; f.register(s, sub) })
	if err != nil {
		return err
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	name := ""
	if sub == "list" {
		if len(rest) != 0 {
			return usageError(serverUsage)
		}
	} else if len(rest) != 1 {
		return usageError(serverUsage)
	} else {
		name = rest[0]
	}
	if err := f.readDSN(con.in); err != nil {
		return err
	}
	if sub == "remove" {
		what := fmt.Sprintf("This removes database server %s from the registry.", name)
		if err := con.confirm(stderr, f.yes, what, name); err != nil {
			return err
		}
	}
	admin, closeApp, err := openServerAdmin(ctx, ext, cfg, newLogger(cfg, stderr), sub == "list" || sub == "get")
	if err != nil {
		return err
	}
	defer closeApp()
	ctx = central.WithActor(ctx, central.Actor{Kind: "cli", ID: getenv("USER"), RequestID: "cli"})
	return runServer(ctx, admin, sub, name, &f, output{w: stdout, json: f.asJSON})
}

// readDSN takes the DSN from stdin (--dsn -) or from --dsn-file.
func (f *serverFlags) readDSN(stdin io.Reader) error {
	switch {
	case f.dsnFile != "" && f.set["dsn"]:
		return usageError("give --dsn or --dsn-file, not both")
	case f.dsnFile != "":
		b, err := os.ReadFile(f.dsnFile)
		if err != nil {
			return fmt.Errorf("read the DSN: %w", err)
		}
		f.dsn, f.set["dsn"] = strings.TrimSpace(string(b)), true
	case f.dsn == "-":
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read the DSN from stdin: %w", err)
		}
		f.dsn = strings.TrimSpace(line)
	}
	return nil
}

// openServerAdmin opens Silo (read-only commands: without creating or
// migrating the central database) and the registry's administration.
func openServerAdmin(ctx context.Context, ext app.Extensions, cfg *config.Config, log *slog.Logger, readOnly bool) (*provisioning.ServerAdmin, func(), error) {
	box, err := secretbox.New(cfg.MasterKey)
	if err != nil {
		return nil, nil, err
	}
	open := app.Open
	if readOnly {
		open = app.OpenExisting // never create or migrate the central database
	}
	a, err := open(ctx, cfg, log, ext)
	if err != nil {
		return nil, nil, err
	}
	catalog := central.NewCatalog(a.CentralDB(), cfg.CentralDSN.DBName)
	return provisioning.NewServerAdmin(catalog, box), a.Close, nil
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
			return describeError(err)
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
			return errors.New("database server " + name + ": " + s.LastError.String)
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
			return describeError(err)
		}
		return out.message(map[string]string{"name": name, "result": "removed"}, "database server "+name+" removed")
	}
	if err != nil {
		return describeError(err)
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
			return in, usageError("--spare-pool must be a number or default")
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
				return p, usageError("--spare-pool must be a number or default")
			}
			*p.SparePool = sql.NullInt64{Int64: int64(n), Valid: true}
		}
	}
	return p, nil
}

// parseLabels reads k=v labels.
func parseLabels(l stringList) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range l {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, usageError(fmt.Sprintf("--label %q: want key=value", kv))
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

func (o output) serverTable(ss []central.Server) error {
	tw := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tHOST\tSTATUS\tTENANTS\tCAPACITY\tSPARES\tLABELS\tVERSION\tLAST ERROR")
	for _, s := range ss {
		keys := make([]string, 0, len(s.Labels))
		for k := range s.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + s.Labels[k]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", s.Name, s.Addr, s.Status, s.Tenants, s.Capacity, s.Spares,
			strings.Join(keys, ","), s.Version, s.LastError.String)
	}
	return tw.Flush()
}
