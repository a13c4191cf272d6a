package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// flagSet wraps flag.FlagSet so that every command prints help and errors
// the same way and accepts flags after positional arguments
// ("vigie url canon URL --json"), up to a "--".
type flagSet struct {
	*flag.FlagSet
	env  *env
	args []string // positional arguments, after Parse
}

func newFlagSet(e *env, usage, description string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(commandPath(usage), flag.ContinueOnError), env: e}
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText(usage, description))
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses args. done reports that the command must stop and exit with
// code: after --help (usage on stdout, exit 0) or a usage error (message and
// usage on stderr, exit 2).
func (fs *flagSet) Parse(args []string) (code int, done bool) {
	if wantsHelp(args) {
		fs.SetOutput(fs.env.stdout)
		fs.Usage()
		return exitOK, true
	}
	for {
		if err := fs.FlagSet.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK, true
			}
			return exitUsage, true
		}
		rest := fs.FlagSet.Args()
		if len(rest) == 0 {
			return exitOK, false
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			fs.args = append(fs.args, rest...)
			return exitOK, false
		}
		fs.args = append(fs.args, rest[0])
		args = rest[1:]
	}
}

// Args returns the positional arguments.
func (fs *flagSet) Args() []string { return fs.args }

// usageError reports a usage problem the flag package cannot see.
func (fs *flagSet) usageError(format string, args ...any) int {
	fs.env.errorf(format, args...)
	fmt.Fprintf(fs.env.stderr, "Run '%s --help' for usage.\n", fs.Name())
	return exitUsage
}

// commandPath is the leading words of a usage line: "vigie url canon".
func commandPath(usage string) string {
	words := strings.Fields(usage)
	for i, w := range words {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") || strings.ToUpper(w) == w {
			return strings.Join(words[:i], " ")
		}
	}
	return usage
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelp(a) {
			return true
		}
	}
	return false
}
