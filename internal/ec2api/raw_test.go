package ec2api_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ebsd/ebsd/internal/sigv4"
)

// rawRequest is a signed POST / with a form body, built by hand so that a
// test can send what no SDK would.
type rawRequest struct {
	body     string
	key      string // "" = Alice
	secret   string
	service  string // "" = ec2
	payload  string // payload hash for Sign: "" = hash the body, no header
	unsigned bool   // send no Authorization at all
	mutate   func(*http.Request)
}

// rawAnswer is an answer parsed as an EC2 or STS error document, or not.
type rawAnswer struct {
	status    int
	header    http.Header
	body      string
	code      string // Errors/Error/Code or Error/Code
	message   string
	requestID string // RequestID (EC2) or RequestId (STS)
	errType   string // STS Error/Type
}

func (s *testServer) raw(t *testing.T, rq rawRequest) rawAnswer {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(rq.body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	key, secret, service := rq.key, rq.secret, rq.service
	if key == "" {
		key, secret = aliceKey, aliceSecret
	}
	if service == "" {
		service = "ec2"
	}
	if !rq.unsigned {
		if err := sigv4.Sign(r, key, secret, "us-east-1", service, rq.payload, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if rq.mutate != nil {
		rq.mutate(r)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := rawAnswer{status: resp.StatusCode, header: resp.Header, body: string(b)}
	var doc struct {
		XMLName   xml.Name
		Code      string `xml:"Errors>Error>Code"`
		Message   string `xml:"Errors>Error>Message"`
		RequestID string `xml:"RequestID"`
		STSCode   string `xml:"Error>Code"`
		STSMsg    string `xml:"Error>Message"`
		STSType   string `xml:"Error>Type"`
		STSReqID  string `xml:"RequestId"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("answer is not XML: %v\n%s", err, b)
	}
	switch doc.XMLName.Local {
	case "Response":
		a.code, a.message, a.requestID = doc.Code, doc.Message, doc.RequestID
	case "ErrorResponse":
		a.code, a.message, a.requestID, a.errType = doc.STSCode, doc.STSMsg, doc.STSReqID, doc.STSType
	}
	return a
}

// expect checks the status and code of an answer, that its message
// contains msg, and that the request ID of its body is the header's.
func (a rawAnswer) expect(t *testing.T, status int, code, msg string) {
	t.Helper()
	if a.status != status || a.code != code || !strings.Contains(a.message, msg) {
		t.Fatalf("answer %d %s %q, want %d %s containing %q\n%s", a.status, a.code, a.message, status, code, msg, a.body)
	}
	if id := a.header.Get("X-Amzn-Requestid"); id == "" || (code != "" && a.requestID != id) {
		t.Fatalf("request ID: header %q, body %q", id, a.requestID)
	}
	if ct := a.header.Get("Content-Type"); ct != "text/xml;charset=UTF-8" {
		t.Fatalf("Content-Type %q", ct)
	}
}

// signAt signs r as at time at.
func signAt(r *http.Request, key, secret, service string, at time.Time) error {
	return sigv4.Sign(r, key, secret, "us-east-1", service, "", at)
}
