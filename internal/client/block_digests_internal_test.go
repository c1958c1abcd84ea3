package client

import (
	"fmt"
	"testing"
)

func TestOverlayAndDedupe(t *testing.T) {
	d := func(index int32, tag byte) blockDigest { return blockDigest{index: index, sum: [32]byte{tag}} }
	own := blockDigests{d(1, 'o'), d(3, 'o'), d(9, 'o')}
	inherited := blockDigests{d(0, 'p'), d(3, 'p'), d(4, 'p'), d(10, 'p')}
	got := fmt.Sprint(overlay(own, inherited))
	want := fmt.Sprint(blockDigests{d(0, 'p'), d(1, 'o'), d(3, 'o'), d(4, 'p'), d(9, 'o'), d(10, 'p')})
	if got != want {
		t.Fatalf("overlay = %s\nwant %s", got, want)
	}
	s := blockDigests{d(2, 'a'), d(1, 'a'), d(2, 'b'), d(1, 'b')}
	s.sortByIndex()
	if got, want := fmt.Sprint(s.dedupe()), fmt.Sprint(blockDigests{d(1, 'b'), d(2, 'b')}); got != want {
		t.Fatalf("dedupe = %s, want %s (the last added wins)", got, want)
	}
}
