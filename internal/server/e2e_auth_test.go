package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ebs"

	ebscreds "github.com/ebsd/ebsd/internal/credentials"
	"github.com/ebsd/ebsd/internal/ebstest"
	"github.com/ebsd/ebsd/internal/sigv4"
)

func TestAuthFailures(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	start := func(cred ebscreds.Credential) error {
		_, err := ebstest.NewClient(srv.URL, cred, http.DefaultClient).StartSnapshot(ctx, &ebs.StartSnapshotInput{VolumeSize: aws.Int64(1)})
		return err
	}
	wrongSecret := ebstest.Alice
	wrongSecret.SecretAccessKey = "not-the-secret"
	checkError(t, start(wrongSecret), 403, "InvalidSignatureException", "", "The request signature we calculated does not match")
	unknown := ebscreds.Credential{AccessKeyID: "AKIAUNKNOWN000000000", SecretAccessKey: "x"}
	checkError(t, start(unknown), 403, "UnrecognizedClientException", "", "The security token included in the request is invalid.")

	// Raw requests: no credentials at all, and a signature 20 minutes old.
	raw := func(sign bool, at time.Time) (int, string, string) {
		req, _ := http.NewRequest("GET", srv.URL+"/snapshots/snap-0123456789abcdef0/blocks", nil)
		if sign {
			if err := sigv4.Sign(req, ebstest.Alice.AccessKeyID, ebstest.Alice.SecretAccessKey, "us-east-1", "ebs", "", at); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("error body is not JSON: %s", body)
		}
		msg, _ := m["Message"].(string)
		return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), msg
	}
	if status, typ, _ := raw(false, time.Time{}); status != 403 || typ != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned request: %d %s", status, typ)
	}
	if status, typ, msg := raw(true, time.Now().Add(-20*time.Minute)); status != 403 || typ != "InvalidSignatureException" || !strings.Contains(msg, "Signature expired") {
		t.Errorf("stale signature: %d %s %q", status, typ, msg)
	}
	if status, typ, _ := raw(true, time.Now()); status != 404 || typ != "ResourceNotFoundException" {
		t.Errorf("good signature: %d %s, want the 404 of a missing snapshot", status, typ)
	}
}
