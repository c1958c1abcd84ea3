package main

import (
	"strings"
	"testing"

	"github.com/ebsd/ebsd/internal/credentials"
)

func TestBanner(t *testing.T) {
	cred := &credentials.Credential{AccessKeyID: "AKIAEXAMPLE000000001", SecretAccessKey: "SECRET/do+not=leak", AccountID: "123456789012"}
	base := banner{
		Endpoint: "http://127.0.0.1:8450", Region: "us-east-1", DataDir: "/var/lib/ebsd",
		CredentialsFile: "/var/lib/ebsd/credentials.json", Self: "/usr/bin/ebsd",
	}
	eval := `  eval "$(/usr/bin/ebsd credentials -credentials /var/lib/ebsd/credentials.json)"` + "\n"
	tests := []struct {
		name     string
		created  bool
		terminal bool
		region   string
		want     []string
		wantNot  []string
	}{
		{"first start on a terminal", true, true, "",
			[]string{"saved them in /var/lib/ebsd/credentials.json:", "  export AWS_SECRET_ACCESS_KEY=SECRET/do+not=leak\n",
				"  export AWS_ACCESS_KEY_ID=AKIAEXAMPLE000000001\n", "  export AWS_DEFAULT_REGION=us-east-1\n"},
			[]string{"eval"}},
		{"first start under systemd", true, false, "",
			[]string{"saved them in /var/lib/ebsd/credentials.json.", "only on a terminal", eval},
			[]string{"SECRET", "export"}},
		{"later start on a terminal", false, true, "",
			[]string{"Credentials are in /var/lib/ebsd/credentials.json.", eval},
			[]string{"SECRET", "<secret", "export"}},
		{"later start under systemd", false, false, "",
			[]string{eval}, []string{"SECRET", "<secret", "export"}},
		{"another region", false, false, "eu-west-3",
			[]string{`credentials -credentials /var/lib/ebsd/credentials.json -region eu-west-3)"`, "(region eu-west-3,"}, nil},
	}
	for _, tc := range tests {
		b := base
		b.Terminal = tc.terminal
		if tc.created {
			b.Created = cred
		}
		if tc.region != "" {
			b.Region = tc.region
		}
		var out strings.Builder
		b.write(&out)
		got := out.String()
		if !strings.HasPrefix(got, "ebsd is serving the EBS direct APIs at http://127.0.0.1:8450 (region ") ||
			!strings.Contains(got, "  aws ebs start-snapshot --volume-size 1 --endpoint-url http://127.0.0.1:8450\n") {
			t.Errorf("%s: no endpoint or aws line:\n%s", tc.name, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: banner lacks %q:\n%s", tc.name, w, got)
			}
		}
		for _, w := range tc.wantNot {
			if strings.Contains(got, w) {
				t.Errorf("%s: banner has %q:\n%s", tc.name, w, got)
			}
		}
	}
}

func TestSelfCommand(t *testing.T) {
	tests := []struct{ arg0, want string }{
		{"ebsd", "ebsd"},
		{"/usr/local/bin/ebsd", "/usr/local/bin/ebsd"},
		{"/opt/my tools/ebsd", "'/opt/my tools/ebsd'"},
		{"/tmp/go-build1234/b001/exe/ebsd", "go run "},
	}
	for _, tc := range tests {
		if got := selfCommand(tc.arg0); !strings.HasPrefix(got, tc.want) {
			t.Errorf("selfCommand(%q) = %q, want %q", tc.arg0, got, tc.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"AKIAEXAMPLE", "AKIAEXAMPLE"},
		{"ab+/cd=", "ab+/cd="},
		{"/var/lib/ebsd/credentials.json", "/var/lib/ebsd/credentials.json"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"~/x", "'~/x'"},
	}
	for _, tc := range tests {
		if got := shellQuote(tc.in); got != tc.want {
			t.Errorf("shellQuote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
