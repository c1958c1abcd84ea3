package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a -size flag: a number of bytes with an optional KiB, MiB
// or GiB suffix.
type byteSize int64

func (s *byteSize) String() string { return fmt.Sprintf("%d", int64(*s)) }

func (s *byteSize) Set(v string) error {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if rest, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = rest, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("size %q: want a positive number of bytes, KiB, MiB or GiB", v)
	}
	*s = byteSize(n * mult)
	return nil
}
