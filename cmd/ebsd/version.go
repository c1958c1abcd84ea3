package main

import (
	"fmt"
	"io"

	"github.com/ebsd/ebsd/internal/buildinfo"
)

// isVersionFlag reports whether arg asks for the version.
func isVersionFlag(arg string) bool { return arg == "--version" || arg == "-version" }

// printVersion prints the version line bug reports ask for.
func printVersion(w io.Writer) { fmt.Fprintln(w, buildinfo.String("ebsd")) }
