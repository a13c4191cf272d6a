package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vigie-project/vigie/node/auditlog"
)

func auditReportCommand() *command {
	return &command{name: "report", summary: "count audit entries per action, category, country and legal ground over a period", run: runAuditReport}
}

func runAuditReport(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "vigie audit report --dir D|--bundle BUNDLE --from DATE --to DATE [--keys FILE] [--json]", `
Counts the audit entries of a period, the shape of a transparency report
under the TCO Regulation (EU 2021/784, Art. 8): per action (the entry kind;
for a policy decision, its action and decision), per category, per country
and per legal ground. An entry listing several categories counts once for
each.

The entries come from the node's own log (--dir; the node must be stopped)
or from an exported bundle (--bundle), which is verified first as 'vigie
audit verify' does (with --keys, default BUNDLE.keys if it exists): a report
from a bundle that does not verify is refused (exit 1).

Dates are 2026-01-31 (a whole day: --to 2026-12-31 includes 31 December) or
RFC 3339 times (2026-01-31T12:00:00Z; --to is then exclusive).
With --json, prints {"from":…,"to":…,"entries":…,"by_action":{…},…}.`)
	var nf nodeFlags
	nf.register(fs)
	bundle := fs.String("bundle", "", "report from this exported bundle instead of the node's log")
	keys := fs.String("keys", "", "with --bundle: the node's verifier keys (default BUNDLE.keys if it exists)")
	fromS := fs.String("from", "", "start of the period, included (required)")
	toS := fs.String("to", "", "end of the period (required; a plain date is included)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if code, done := fs.Parse(args); done {
		return code
	}
	if len(fs.Args()) > 0 {
		return fs.usageError("unexpected argument %q", fs.Args()[0])
	}
	dirSet := false
	fs.Visit(func(f *flag.Flag) { dirSet = dirSet || f.Name == "dir" })
	switch {
	case *bundle != "" && dirSet:
		return fs.usageError("give --dir or --bundle, not both")
	case *bundle == "":
		if code, bad := nf.check(fs); bad {
			return code
		}
		if *keys != "" {
			return fs.usageError("--keys goes with --bundle")
		}
	}
	if *fromS == "" || *toS == "" {
		return fs.usageError("--from and --to are required")
	}
	from, err := parseTime("--from", *fromS)
	if err != nil {
		return fs.usageError("%v", err)
	}
	to, err := parseTime("--to", *toS)
	if err != nil {
		return fs.usageError("%v", err)
	}
	if _, err := time.Parse(time.DateOnly, *toS); err == nil {
		to = to.AddDate(0, 0, 1)
	}
	if !from.Before(to) {
		return fs.usageError("the period is empty: --from must come before --to")
	}

	type reportOut struct {
		*auditlog.Report
		Source string `json:"source"`
		Origin string `json:"origin,omitempty"`
		// Verified is, for a bundle, the verification it passed.
		Verified *auditVerifyOut `json:"verified,omitempty"`
	}
	var out reportOut
	if *bundle != "" {
		opts, keysFile, err := auditVerifyOptions(*bundle, *keys, "", 0, nil)
		if err != nil {
			e.errorf("audit report: %v", err)
			return exitUsage
		}
		res, code := verifyBundleFile(e, *bundle, opts...)
		if code != exitOK {
			return code
		}
		v := verifyJSON(*bundle, keysFile, res)
		if !v.OK {
			if *asJSON {
				writeJSONLine(e, map[string]any{"source": *bundle, "verified": v})
			} else {
				fmt.Fprintf(e.stdout, "FAILED: %s does not verify, first at %s: no report from it.\n", *bundle, v.FirstFailure.Message)
			}
			return exitNegative
		}
		f, err := os.Open(*bundle)
		if err != nil {
			e.errorf("audit report: %v", err)
			return exitUsage
		}
		rep, err := auditlog.ReportBundle(f, from, to)
		f.Close()
		if err != nil {
			e.errorf("audit report: %v", err)
			return exitUsage
		}
		out = reportOut{Report: rep, Source: *bundle, Origin: res.Origin, Verified: &v}
	} else {
		a, ok := openNodeAudit(ctx, e, &nf, "report from its log (or report from an export with --bundle)")
		if !ok {
			return exitUsage
		}
		rep, err := a.log.Report(ctx, from, to)
		origin := a.log.Origin()
		a.close(e)
		if err != nil {
			e.errorf("audit report: %v", err)
			return exitUsage
		}
		out = reportOut{Report: rep, Source: nf.dir, Origin: origin}
	}
	if *asJSON {
		writeJSONLine(e, out)
		return exitOK
	}
	w := e.stdout
	fmt.Fprintf(w, "Audit report from %s (included) to %s (excluded)\n", out.From.Format(time.RFC3339), out.To.Format(time.RFC3339))
	if out.Verified != nil {
		fmt.Fprintf(w, "Source: bundle %s, verified (%d entries, checkpoint of size %d)", out.Source, out.Verified.Entries, out.Verified.LastSize)
		if out.Verified.KeysFromBundle {
			fmt.Fprint(w, " against its own keys only")
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintf(w, "Source: the audit log of the node in %s\n", out.Source)
	}
	fmt.Fprintf(w, "Log: %s\nEntries in the period: %d\n", out.Origin, out.Entries)
	for _, sec := range []struct {
		title string
		m     map[string]int
	}{{"action", out.ByAction}, {"category", out.ByCategory}, {"country", out.ByCountry}, {"legal ground", out.ByLegalGround}} {
		fmt.Fprintf(w, "\nBy %s:\n", sec.title)
		printCounts(w, sec.m)
	}
	return exitOK
}

// verifyBundleFile verifies a bundle; code is exitUsage (after a message)
// if it could not be read. A *VerifyError is not an error here: the result
// carries the failure.
func verifyBundleFile(e *env, path string, opts ...auditlog.VerifyOption) (*auditlog.VerifyResult, int) {
	f, err := os.Open(path)
	if err != nil {
		e.errorf("audit: %v", err)
		return nil, exitUsage
	}
	defer f.Close()
	res, err := auditlog.VerifyBundle(f, opts...)
	var ve *auditlog.VerifyError
	if err != nil && !errors.As(err, &ve) {
		e.errorf("audit: verifying %s: %v", path, err)
		return nil, exitUsage
	}
	return res, exitOK
}

func printCounts(w io.Writer, m map[string]int) {
	if len(m) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	names := make([]string, 0, len(m))
	width := 0
	for k := range m {
		names = append(names, k)
		width = max(width, len(k))
	}
	slices.SortFunc(names, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	for _, k := range names {
		fmt.Fprintf(w, "  %-*s  %d\n", width, k, m[k])
	}
}
