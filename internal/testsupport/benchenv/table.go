package benchenv

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
)

// Row is one benchmark result as the load and benchmark commands append it
// (one JSON object a line) to the file `make bench` collects and prints as
// one table (see PrintTable). Silo and Baseline are in Unit: req/s for the
// load tool; a fleet benchmark may report seconds ("s", lower is better).
type Row struct {
	Scenario  string  `json:"scenario"`
	Tenants   int     `json:"tenants"`
	Dist      string  `json:"dist,omitempty"`
	ConnMode  string  `json:"conn_mode,omitempty"`
	Cap       int     `json:"cap,omitempty"` // SILO_TENANT_CONNS_MAX
	Clients   int     `json:"clients,omitempty"`
	Unit      string  `json:"unit"`
	Silo      float64 `json:"silo"`
	Baseline  float64 `json:"baseline,omitempty"`
	Ratio     float64 `json:"ratio,omitempty"` // Silo/Baseline
	P50ms     float64 `json:"p50_ms,omitempty"`
	P99ms     float64 `json:"p99_ms,omitempty"`
	Errors    int64   `json:"errors"`                    // Silo's: no answer or not 2xx
	BaseErrs  int64   `json:"baseline_errors,omitempty"` // the baseline's
	PeakConns int     `json:"peak_conns,omitempty"`      // server-side tenant connections, sampled
	Evictions int64   `json:"evictions,omitempty"`
	RSSMB     float64 `json:"rss_mb,omitempty"` // peak RSS of the process during the Silo phase
	SetupS    float64 `json:"setup_s,omitempty"`
	Note      string  `json:"note,omitempty"`
	// Servers are the figures of each database server when the tenants
	// were spread over several (silo-load -servers); PeakConns is then
	// their sum at one moment.
	Servers []ServerFigures `json:"servers,omitempty"`
}

// ServerFigures are one database server's figures in a Row.
type ServerFigures struct {
	Name      string `json:"name"`
	Tenants   int    `json:"tenants"`
	Cap       int    `json:"cap"`        // its tenant connection cap
	PeakConns int    `json:"peak_conns"` // its tenant connections, sampled
	Errors    int64  `json:"errors"`     // of requests to its tenants
}

// AppendRow appends r to the JSON-lines file at path.
func AppendRow(path string, r Row) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	err = json.NewEncoder(f).Encode(r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadRows reads a file AppendRow wrote.
func ReadRows(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// PrintTable writes rows as one aligned table.
func PrintTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\ttenants\tservers\tdist\tcap\tsilo\tbaseline\tunit\tratio\tp99 ms\terrors (silo/base)\tpeak conns\tevictions\tRSS MB\tsetup s\t")
	for _, r := range rows {
		name := r.Scenario
		if r.ConnMode != "" {
			name += " (" + r.ConnMode + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%d\t%s\t%s\t\n",
			name, r.Tenants, max(len(r.Servers), 1), dash(r.Dist), intOrDash(r.Cap), amount(r.Silo, r.Unit), floatOrDash(r.Baseline, amountFormat(r.Unit)), r.Unit,
			floatOrDash(r.Ratio, "%.2f"), floatOrDash(r.P99ms, "%.1f"), r.Errors, r.BaseErrs, intOrDash(r.PeakConns),
			r.Evictions, floatOrDash(r.RSSMB, "%.0f"), floatOrDash(r.SetupS, "%.1f"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.Note != "" {
			fmt.Fprintf(w, "%s, %d tenants: %s\n", r.Scenario, r.Tenants, r.Note)
		}
		if len(r.Servers) > 0 {
			fmt.Fprintf(w, "%s, %d tenants over %d servers (cap is per server):", r.Scenario, r.Tenants, len(r.Servers))
			for i, s := range r.Servers {
				sep := ";"
				if i == 0 {
					sep = ""
				}
				fmt.Fprintf(w, "%s %s %d tenants, peak %d/%d, %d errors", sep, s.Name, s.Tenants, s.PeakConns, s.Cap, s.Errors)
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func intOrDash(v int) string {
	if v <= 0 {
		return "-"
	}
	return fmt.Sprint(v)
}

func floatOrDash(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// amountFormat prints req/s whole and seconds to the millisecond.
func amountFormat(unit string) string {
	if unit == "req/s" {
		return "%.0f"
	}
	return "%.3f"
}

func amount(v float64, unit string) string { return fmt.Sprintf(amountFormat(unit), v) }
