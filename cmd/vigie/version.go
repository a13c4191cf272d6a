package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the build's version",
		run: func(_ context.Context, e *env, args []string) int {
			fs := newFlagSet(e, "vigie version", "Prints the module version and Go version this binary was built with.")
			if code, done := fs.Parse(args); done {
				return code
			}
			version, goVersion := "(devel)", "unknown"
			if info, ok := debug.ReadBuildInfo(); ok {
				version, goVersion = info.Main.Version, info.GoVersion
			}
			fmt.Fprintf(e.stdout, "vigie %s (%s)\n", version, goVersion)
			return exitOK
		},
	}
}
