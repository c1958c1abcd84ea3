package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCredentialsCommand(t *testing.T) {
	dataDir := t.TempDir()
	file := filepath.Join(dataDir, "credentials.json")
	// The second secret holds every character a shell treats specially.
	const odd = `it's "$HOME" \ ;|&*`
	content := `{"version": 1, "credentials": [
  {"access_key_id": "AKIAALICE00000000001", "secret_access_key": "alice/secret+key=", "account_id": "111111111111"},
  {"access_key_id": "AKIABOB0000000000002", "secret_access_key": ` + jsonString(odd) + `, "account_id": "222222222222"}]}`
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	dirEnv := func(k string) string {
		if k == "EBSD_DATA_DIR" {
			return dataDir
		}
		return ""
	}
	tests := []struct {
		name                string
		args                []string
		getenv              func(string) string
		code                int
		key, secret, region string
		stderrIn            string
	}{
		{"first key", []string{"-credentials", file}, noEnv, 0, "AKIAALICE00000000001", "alice/secret+key=", "us-east-1", ""},
		{"by account", []string{"-credentials", file, "-account", "222222222222"}, noEnv, 0, "AKIABOB0000000000002", odd, "us-east-1", ""},
		{"data dir flag", []string{"-data-dir", dataDir, "-region", "eu-west-3"}, noEnv, 0, "AKIAALICE00000000001", "alice/secret+key=", "eu-west-3", ""},
		{"data dir from the environment", nil, dirEnv, 0, "AKIAALICE00000000001", "alice/secret+key=", "us-east-1", ""},
		{"unknown account", []string{"-credentials", file, "-account", "333333333333"}, noEnv, 1, "", "", "",
			"no credentials for account 333333333333 in " + file + "; it has accounts 111111111111, 222222222222"},
		{"missing file", []string{"-credentials", filepath.Join(dataDir, "none.json")}, noEnv, 1, "", "", "", "none.json"},
		{"stray argument", []string{"-credentials", file, "show"}, noEnv, 1, "", "", "", `unexpected argument "show"`},
	}
	for _, tc := range tests {
		var out, errb strings.Builder
		code := run(context.Background(), append([]string{"credentials"}, tc.args...), tc.getenv, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.stderrIn) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d, stderr with %q", tc.name, code, errb.String(), tc.code, tc.stderrIn)
			continue
		}
		if tc.code != 0 {
			if out.Len() != 0 {
				t.Errorf("%s: stdout %q on failure", tc.name, out.String())
			}
			continue
		}
		// The lines must run: evaluate them as the usage says to.
		got := shellExports(t, out.String())
		if want := []string{tc.key, tc.secret, tc.region}; strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("%s: eval of\n%s\nexported %q, want %q", tc.name, out.String(), got, want)
		}
	}
}

// shellExports evaluates exports in sh and returns the three variables.
func shellExports(t *testing.T, exports string) []string {
	t.Helper()
	cmd := exec.Command("sh", "-e", "-c", `eval "$1"; printf '%s\0' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_DEFAULT_REGION"`, "sh", exports)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh: %v; exports:\n%s", err, exports)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

func jsonString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
