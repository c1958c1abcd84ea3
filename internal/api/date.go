package api

import (
	"net/http"
	"sync/atomic"
	"time"
)

// dateCache formats the Date header once per second instead of once per
// request. The Go and JS SDKs read Date to correct their clock skew.
type dateCache struct {
	last atomic.Pointer[dateEntry]
}

type dateEntry struct {
	unix int64
	text string
}

// format returns t in the HTTP date format (RFC 1123, GMT).
func (c *dateCache) format(t time.Time) string {
	unix := t.Unix()
	if e := c.last.Load(); e != nil && e.unix == unix {
		return e.text
	}
	e := &dateEntry{unix: unix, text: t.UTC().Format(http.TimeFormat)}
	c.last.Store(e)
	return e.text
}
