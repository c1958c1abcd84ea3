package sigv4

import (
	"net/http"
	"strings"
)

// ClaimedKeyID returns the access key ID in the Credential of r's
// Authorization header, "" when there is none, for the log line of a
// refused request: it names whose key was refused without Verify having
// parsed the header. The key ID is not secret; the rest of the header (the
// signature) is never returned. It is the client's text, unbounded: the
// caller clips it before logging it.
func ClaimedKeyID(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(cred, "/")
	if i := strings.IndexAny(id, ", "); i >= 0 {
		id = id[:i] // a Credential with no scope: stop at the next parameter
	}
	return id
}
