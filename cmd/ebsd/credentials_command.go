package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ebsd/ebsd/internal/config"
	"github.com/ebsd/ebsd/internal/credentials"
)

const credentialsUsage = `Usage: ebsd credentials [-data-dir DIR | -credentials FILE] [-region REGION] [-account ID]

Prints, as shell commands, the AWS environment variables that sign requests
to ebsd with a key from the credentials file: the first key of account ID,
or the file's first key without -account. Load them into a shell with

  eval "$(ebsd credentials)"

The file and the Region are found as the server finds them: from the flags,
else EBSD_CREDENTIALS, EBSD_DATA_DIR and EBSD_REGION, else the defaults.
The output holds the secret key.
`

// runCredentials implements "ebsd credentials".
func runCredentials(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	defaults, err := config.Parse(nil, getenv, stderr)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("ebsd credentials", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, credentialsUsage) }
	dataDir := fs.String("data-dir", "", "the server's data directory")
	file := fs.String("credentials", "", "the credentials file")
	region := fs.String("region", defaults.Region, "the Region")
	account := fs.String("account", "", "the account whose key to print")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("credentials: unexpected argument %q", fs.Arg(0))
	}
	path := defaults.CredentialsFile
	switch {
	case *file != "":
		path = *file
	case *dataDir != "":
		// Same rule as the server: the file lives in the data directory
		// unless EBSD_CREDENTIALS names it.
		cfg, err := config.Parse([]string{"-data-dir", *dataDir}, getenv, stderr)
		if err != nil {
			return err
		}
		path = cfg.CredentialsFile
	}
	store, err := credentials.Load(path)
	if err != nil {
		return err
	}
	for _, w := range store.Warnings() {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	c, err := pickCredential(store, *account, path)
	if err != nil {
		return err
	}
	writeExports(stdout, c, *region)
	return nil
}

// pickCredential returns the first credential of account, or the first of
// all when account is "".
func pickCredential(store *credentials.Store, account, path string) (credentials.Credential, error) {
	all := store.Credentials()
	if account == "" {
		return all[0], nil // Load refuses a file without credentials
	}
	var accounts []string
	for _, c := range all {
		if c.AccountID == account {
			return c, nil
		}
		accounts = append(accounts, c.AccountID)
	}
	return credentials.Credential{}, fmt.Errorf("no credentials for account %s in %s; it has accounts %s",
		account, path, strings.Join(accounts, ", "))
}

// writeExports writes the lines that set a shell's AWS variables to c.
func writeExports(w io.Writer, c credentials.Credential, region string) {
	fmt.Fprintf(w, "export AWS_ACCESS_KEY_ID=%s\n", shellQuote(c.AccessKeyID))
	fmt.Fprintf(w, "export AWS_SECRET_ACCESS_KEY=%s\n", shellQuote(c.SecretAccessKey))
	fmt.Fprintf(w, "export AWS_DEFAULT_REGION=%s\n", shellQuote(region))
}
