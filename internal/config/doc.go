// Package config turns ebsd's command-line flags and environment variables
// into a Config, checks it, and builds the logger it asks for.
//
// Each setting has a flag (-addr) and an environment variable (EBSD_ADDR).
// A flag overrides its variable, and a variable overrides the built-in
// default; an empty variable counts as unset. The package reads the
// environment only through the getenv function given to Parse and keeps no
// global state, so tests can run many configurations side by side.
package config
