package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
)

const blockSize = 524288

// image is the benchmark's raw disk image.
type image struct {
	path    string
	size    int64
	nonZero []int64 // indexes of the non-zero blocks, ascending
}

// makeImage writes a sparse image of size bytes: a seeded random half of
// its blocks hold pseudo-random data, the others are holes.
func makeImage(path string, size int64, seed uint64) (*image, error) {
	blocks := (size + blockSize - 1) / blockSize
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	perm := r.Perm(int(blocks))
	nonZero := make([]int64, 0, blocks/2)
	for _, i := range perm[:blocks/2] {
		nonZero = append(nonZero, int64(i))
	}
	slices.Sort(nonZero)

	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return nil, err
	}
	buf := make([]byte, blockSize)
	for _, i := range nonZero {
		br := rand.New(rand.NewPCG(seed, uint64(i)))
		for k := 0; k < len(buf); k += 8 {
			binary.LittleEndian.PutUint64(buf[k:], br.Uint64())
		}
		n := min(blockSize, size-i*blockSize)
		if _, err := f.WriteAt(buf[:n], i*blockSize); err != nil {
			return nil, fmt.Errorf("write image: %w", err)
		}
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return &image{path: path, size: size, nonZero: nonZero}, f.Close()
}
