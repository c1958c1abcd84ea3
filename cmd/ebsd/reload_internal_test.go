package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"
	"github.com/aws/smithy-go"

	"github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/keyring"
	"github.com/ebsd/ebsd/internal/server"
)

var (
	alice = credentials.Credential{AccessKeyID: "AKIAALICE00000000001", SecretAccessKey: "alice-secret", AccountID: "111111111111"}
	bob   = credentials.Credential{AccessKeyID: "AKIABOB0000000000002", SecretAccessKey: "bob-secret", AccountID: "222222222222"}
)

// startFileServer serves a data directory whose credentials come from a
// file holding creds, as ebsd does, and returns the server, its URL and
// the credentials file.
func startFileServer(t *testing.T, creds ...credentials.Credential) (*server.Server, string, string) {
	t.Helper()
	dir := t.TempDir()
	credFile := filepath.Join(dir, "credentials.json")
	writeCredentials(t, credFile, creds...)
	store, err := credentials.Load(credFile)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.Open(context.Background(), server.Options{
		DataDir: filepath.Join(dir, "data"), Credentials: store, Region: "us-east-1",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MinFreeSpace: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln, "", "") }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
		srv.Close()
	})
	return srv, "http://" + ln.Addr().String(), credFile
}

func writeCredentials(t *testing.T, path string, creds ...credentials.Credential) {
	t.Helper()
	var entries []string
	for _, c := range creds {
		entries = append(entries, fmt.Sprintf(`{"access_key_id": %q, "secret_access_key": %q, "account_id": %q}`,
			c.AccessKeyID, c.SecretAccessKey, c.AccountID))
	}
	data := `{"version": 1, "credentials": [` + strings.Join(entries, ",") + "]}\n"
	if err := os.WriteFile(path+".tmp", []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

func startSnapshot(c *ebs.Client, kmsKeyARN string) error {
	in := &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1), Encrypted: aws.Bool(true)}
	if kmsKeyARN != "" {
		in.KmsKeyArn = aws.String(kmsKeyARN)
	}
	_, err := c.StartSnapshot(context.Background(), in)
	return err
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return fmt.Sprint(err)
}

// TestKMSKeyAddConcurrentWithServer: 'ebsd kms-key add' runs (each opens
// the file anew, as its own process would) racing with a server creating
// default keys lose no key.
func TestKMSKeyAddConcurrentWithServer(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kms-keys.json")
	srvKeys, err := keyring.Open(file, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	env := func(string) string { return "" }
	const n = 12
	want := make([]string, 2*n)
	var wg sync.WaitGroup
	for i := range n {
		want[i] = fmt.Sprintf("arn:aws:kms:us-east-1:123456789012:key/cli-%02d", i)
		wg.Go(func() {
			var out, errb strings.Builder
			if code := run(context.Background(), []string{"kms-key", "-kms-keys", file, "add", want[i]}, env, &out, &errb); code != 0 {
				t.Errorf("kms-key add %s: exit %d: %s", want[i], code, errb.String())
			}
		})
		wg.Go(func() {
			arn, err := srvKeys.DefaultKeyARN(fmt.Sprintf("%012d", 300000000000+i))
			if err != nil {
				t.Error(err)
			}
			want[n+i] = arn
		})
	}
	wg.Wait()
	var out, errb strings.Builder
	run(context.Background(), []string{"kms-key", "-kms-keys", file, "list"}, env, &out, &errb)
	var lost []string
	for _, arn := range want {
		if !strings.Contains(out.String(), arn) {
			lost = append(lost, arn)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d keys lost; 'kms-key list' gives:\n%s", len(lost), len(want), out.String())
	}
}

// TestKMSKeyAddedWhileServingIsUsable: a key added with 'ebsd kms-key add'
// while the server runs works for StartSnapshot at once, and the server's
// next default key does not erase it. The refusal before the add names
// the file and says that no restart is needed.
func TestKMSKeyAddedWhileServingIsUsable(t *testing.T) {
	s := ebstest.Start(t, ebstest.Options{})
	c := s.Client(ebstest.Alice)
	file := filepath.Join(s.DataDir, "kms-keys.json")
	arn := "arn:aws:kms:us-east-1:" + ebstest.Alice.AccountID + ":key/added-later"
	err := startSnapshot(c, arn)
	if errorCode(err) != "ValidationException" || !strings.Contains(err.Error(), filepath.Base(file)+" as this server read it") ||
		!strings.Contains(err.Error(), "without a restart") {
		t.Fatalf("StartSnapshot with an unknown key: %v; want a ValidationException naming %s and saying no restart is needed", err, file)
	}
	var out, errb strings.Builder
	if code := run(context.Background(), []string{"kms-key", "-kms-keys", file, "add", arn}, func(string) string { return "" }, &out, &errb); code != 0 {
		t.Fatalf("kms-key add: exit %d: %s", code, errb.String())
	}
	if err := startSnapshot(c, arn); err != nil {
		t.Fatalf("StartSnapshot with the key added while serving: %v", err)
	}
	if err := startSnapshot(s.Client(ebstest.Bob), ""); err != nil { // creates Bob's default key
		t.Fatal(err)
	}
	k, err := keyring.Open(file, "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if arns := k.ARNs(); !slices.Contains(arns, arn) || len(arns) != 2 {
		t.Errorf("keys file holds %v after the server created Bob's default key; want %s and Bob's default", arns, arn)
	}
}

// TestCredentialAddedWhileServingAuthenticates: an entry added to the
// credentials file of a running server works at once.
func TestCredentialAddedWhileServingAuthenticates(t *testing.T) {
	_, url, credFile := startFileServer(t, alice)
	bobClient := ebstest.NewClient(url, bob, &http.Client{Timeout: 30 * time.Second})
	writeCredentials(t, credFile, alice, bob)
	if err := startSnapshot(bobClient, ""); err != nil {
		t.Fatalf("StartSnapshot as a key added to %s while serving: %v", credFile, err)
	}
}

// TestReloadOnSIGHUP: a SIGHUP makes the server re-read the credentials
// file, so a removed key stops working (a miss cannot show that), and a
// broken file keeps the old keys.
func TestReloadOnSIGHUP(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGHUP")
	}
	srv, url, credFile := startFileServer(t, alice, bob)
	reloaded := make(chan error, 1)
	stop := reloadOnHangup(context.Background(), func() error {
		err := srv.Reload()
		reloaded <- err
		return err
	})
	defer stop()
	hangUp := func() error {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-reloaded:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("no reload within 10 s of SIGHUP")
			return nil
		}
	}
	bobClient := ebstest.NewClient(url, bob, &http.Client{Timeout: 30 * time.Second})
	if err := startSnapshot(bobClient, ""); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(credFile, []byte(`{"version": 1, "credentials": [`), 0o600)
	if err := hangUp(); err == nil || !strings.Contains(err.Error(), "too early") {
		t.Errorf("reload of a truncated file: err = %v, want it to say the JSON ends too early", err)
	}
	if err := startSnapshot(bobClient, ""); err != nil {
		t.Errorf("bob refused after a failed reload: %v", err)
	}
	writeCredentials(t, credFile, alice)
	if err := hangUp(); err != nil {
		t.Fatal(err)
	}
	if err := startSnapshot(bobClient, ""); errorCode(err) != "UnrecognizedClientException" {
		t.Errorf("bob after his key was removed and SIGHUP: %v; want UnrecognizedClientException", err)
	}
}
