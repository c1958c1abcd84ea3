package server_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ebs"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestAccountUsageMetric: after Alice writes two blocks (one of them
// twice) and a zero block, /metrics shows her 1 MiB written; Bob, who
// wrote nothing, has no series.
func TestAccountUsageMetric(t *testing.T) {
	srv := ebstest.Start(t, ebstest.Options{})
	c := srv.Client(ebstest.Alice)
	id := startSnapshot(t, c, &ebs.StartSnapshotInput{})
	mustPut(t, c, id, map[int32][]byte{0: ebstest.Random(1), 1: ebstest.Random(2), 2: make([]byte, ebstest.BlockSize)})
	mustPut(t, c, id, map[int32][]byte{1: ebstest.Random(3)}) // an overwrite adds nothing

	rec := httptest.NewRecorder()
	srv.Internal().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	want := `ebsd_account_logical_bytes{account="` + ebstest.Alice.AccountID + `"} 1.048576e+06`
	if !strings.Contains(string(body), want) {
		t.Fatalf("/metrics lacks %q:\n%s", want, grepLines(string(body), "ebsd_account_"))
	}
	if strings.Contains(string(body), ebstest.Bob.AccountID) {
		t.Errorf("/metrics has a series for Bob, who wrote nothing")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
