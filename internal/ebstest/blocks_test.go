package ebstest_test

import (
	"runtime"
	"testing"

	"github.com/ebsd/ebsd/internal/ebstest"
)

// TestPayload checks Payload against the spec's test vectors (§7.6), and
// that it allocates about one block: the end-to-end tests make hundreds
// of them, and under -race every byte copied is checked.
func TestPayload(t *testing.T) {
	for _, tc := range []struct{ x, sum string }{
		{"a", "Qib0wLZSCPxxAsnoZ1mqGTwYYUfxBvjcHbuEUOOwNdw="},
		{"b", "7MZ7lYcAJrKN1JmUX5CDaVV97bthlt/bgN4AmbQDHTA="},
		{"c", "4b2+EkHNyDn49FNHyinzwIPoVBW30eVGlR/lZ/NPTvE="},
	} {
		b := ebstest.Payload(tc.x)
		if len(b) != ebstest.BlockSize || ebstest.Checksum(b) != tc.sum {
			t.Errorf("Payload(%q): %d bytes, SHA-256 %s, want %d bytes, %s", tc.x, len(b), ebstest.Checksum(b), ebstest.BlockSize, tc.sum)
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ebstest.Payload("long enough to need a few repeats")
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 2*ebstest.BlockSize {
		t.Errorf("Payload allocated %d bytes for a block of %d", n, ebstest.BlockSize)
	}
}
