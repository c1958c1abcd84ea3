package client

import (
	"slices"
	"syscall"
	"testing"
)

// fakeProber records the calls a hole map makes; the file it fakes has
// data in [dataStart, dataEnd) and holes elsewhere.
type fakeProber struct {
	calls              []string
	dataStart, dataEnd int64
}

func (p *fakeProber) datasync() error {
	p.calls = append(p.calls, "datasync")
	return nil
}

func (p *fakeProber) seek(off int64, whence int) (int64, error) {
	p.calls = append(p.calls, "seek")
	if whence == seekHole {
		return p.dataEnd, nil
	}
	if off >= p.dataEnd {
		return 0, syscall.ENXIO
	}
	return max(off, p.dataStart), nil
}

// TestHoleMapSyncsFirst checks that the image's data is synced before
// the file system is asked where its holes are (review F11: OpenZFS
// reported dirty data as holes).
func TestHoleMapSyncsFirst(t *testing.T) {
	p := &fakeProber{dataStart: 4 * BlockSize, dataEnd: 5 * BlockSize}
	m, err := probeHoles(p, 8*BlockSize)
	if err != nil {
		t.Fatal(err)
	}
	var holes []bool
	for i := int64(0); i < 8; i++ {
		holes = append(holes, m.hole(i*BlockSize, BlockSize))
	}
	if len(p.calls) < 2 || p.calls[0] != "datasync" || slices.Contains(p.calls[1:], "datasync") {
		t.Errorf("calls %v: want one datasync, before any seek", p.calls)
	}
	if want := []bool{true, true, true, true, false, true, true, true}; !slices.Equal(holes, want) {
		t.Errorf("holes %v, want %v", holes, want)
	}
}
