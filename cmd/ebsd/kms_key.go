package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/ebsd/ebsd/internal/config"
	"github.com/ebsd/ebsd/internal/keyring"
)

const kmsKeyUsage = `Usage: ebsd kms-key [-kms-keys FILE] add ARN
       ebsd kms-key [-kms-keys FILE] list

Manages the master keys that encrypt snapshots, the server's stand-in for
AWS KMS. "add" creates random key material for ARN, which must look like
arn:aws:kms:REGION:ACCOUNT:key/ID; StartSnapshot then accepts that ARN as
KmsKeyArn. Each account's default key (used for Encrypted=true without a
KmsKeyArn) is created automatically. A running ebsd uses an added key at
once, without a restart: it re-reads the file when it meets an unknown
key, and on SIGHUP. Adding a key while ebsd runs is safe: every writer
locks FILE.lock and merges its change into what the file holds.
`

// runKMSKey implements "ebsd kms-key".
func runKMSKey(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	defaults, err := config.Parse(nil, getenv, stderr)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("ebsd kms-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, kmsKeyUsage) }
	file := fs.String("kms-keys", defaults.KMSKeysFile, "the KMS keys file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	keys, err := keyring.Open(*file, defaults.Region)
	if err != nil {
		return err
	}
	switch {
	case fs.NArg() == 2 && fs.Arg(0) == "add":
		if err := keys.Add(fs.Arg(1)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s to %s\n", fs.Arg(1), *file)
	case fs.NArg() == 1 && fs.Arg(0) == "list":
		for _, arn := range keys.ARNs() {
			fmt.Fprintln(stdout, arn)
		}
	default:
		fs.Usage()
		return fmt.Errorf("kms-key: expected 'add ARN' or 'list'")
	}
	return nil
}
