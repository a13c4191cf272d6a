package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit codes shared by every subcommand.
const (
	exitOK       = 0
	exitNegative = 1
	exitUsage    = 2
)

// command is one entry of the command tree: either a leaf with run, or a
// group with subcommands.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) int
	subs    []*command
}

// env carries a command's standard streams so tests can run commands
// in-process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func (e *env) errorf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "vigie: "+format+"\n", args...)
}

func rootCommand() *command {
	return &command{
		name:    "vigie",
		summary: "a federation node for sharing hashed indicators of terrorist websites",
		subs: []*command{
			initCommand(),
			assertCommand(),
			importCommand(),
			retractCommand(),
			lookupCommand(),
			runCommand(),
			demoCommand(),
			simCommand(),
			federationCommand(),
			auditCommand(),
			urlCommand(),
			versionCommand(),
			policyCommand(),
		},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run dispatches args through the command tree.
func run(ctx context.Context, e *env, args []string) int {
	cmd, path, rest := resolve(rootCommand(), args)
	if cmd.run != nil {
		return cmd.run(ctx, e, rest)
	}
	if len(rest) > 0 && !isHelp(rest[0]) {
		e.errorf("unknown command %q for %q; see '%s --help'", rest[0], path, path)
		return exitUsage
	}
	printGroupHelp(e.stdout, cmd, path)
	if len(rest) == 0 && cmd.name == "vigie" {
		return exitUsage
	}
	return exitOK
}

// resolve walks args down the tree as far as they name subcommands.
func resolve(root *command, args []string) (*command, string, []string) {
	cmd, path := root, root.name
	for len(args) > 0 {
		if args[0] == "help" && cmd.run == nil {
			return cmd, path, []string{"--help"}
		}
		next := cmd.sub(args[0])
		if next == nil {
			break
		}
		cmd, path, args = next, path+" "+next.name, args[1:]
	}
	return cmd, path, args
}

func (c *command) sub(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

func printGroupHelp(w io.Writer, cmd *command, path string) {
	fmt.Fprintf(w, "%s: %s\n\nUsage:\n  %s COMMAND [flags]\n\nCommands:\n", path, cmd.summary, path)
	subs := append([]*command(nil), cmd.subs...)
	sort.Slice(subs, func(i, j int) bool { return subs[i].name < subs[j].name })
	width := 0
	for _, s := range subs {
		width = max(width, len(s.name))
	}
	for _, s := range subs {
		fmt.Fprintf(w, "  %-*s  %s\n", width, s.name, s.summary)
	}
	fmt.Fprintf(w, "\nRun '%s COMMAND --help' for a command's flags.\n", path)
}

// usageText formats a leaf command's help header.
func usageText(usage, description string) string {
	return "Usage:\n  " + usage + "\n\n" + strings.TrimSpace(description) + "\n\nFlags:\n"
}
