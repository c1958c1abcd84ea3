package throttle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
)

// fileVersion is the only version of the quota file format.
const fileVersion = 1

// fileJSON is a quota file: overrides of AWS's quotas, by operation name
// and scope name, e.g.
//
//	{"version": 1, "quotas": {"PutSnapshotBlock": {"snapshot": {"rate": 100, "burst": 10}}}}
type fileJSON struct {
	Version int                             `json:"version"`
	Quotas  map[string]map[string]limitJSON `json:"quotas"`
}

// limitJSON is one override. A field left out keeps AWS's value, except
// that a new rate without a burst gets the default burst of that rate.
type limitJSON struct {
	Rate  *float64 `json:"rate"`
	Burst *int     `json:"burst"`
}

// LoadFile reads the quota file at path and returns AWS's quotas with its
// overrides applied.
func LoadFile(path string) (Quotas, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Quotas{}, fmt.Errorf("read quota file: %w", err)
	}
	q, err := Parse(data)
	if err != nil {
		return Quotas{}, fmt.Errorf("quota file %s: %w", path, err)
	}
	return q, nil
}

// Parse parses the content of a quota file and returns AWS's quotas with
// its overrides applied. It reports every problem it finds.
func Parse(data []byte) (Quotas, error) {
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	// A misspelt "burst" would otherwise be dropped without a word.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Quotas{}, fmt.Errorf("not a quota file: %w", err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return Quotas{}, errors.New("unexpected content after the JSON object")
	}
	var errs []error
	switch {
	case f.Version == 0:
		errs = append(errs, fmt.Errorf(`"version" is missing; add "version": %d`, fileVersion))
	case f.Version != fileVersion:
		errs = append(errs, fmt.Errorf(`"version" is %d, but this ebsd reads only version %d`, f.Version, fileVersion))
	}
	q := AWS()
	// Sorted, so that the problems come in the same order every time.
	for _, opName := range slices.Sorted(maps.Keys(f.Quotas)) {
		op, ok := parseOp(opName)
		if !ok {
			errs = append(errs, fmt.Errorf("quotas: %q is not an operation; use one of %v", opName, opNames))
			continue
		}
		scopes := f.Quotas[opName]
		for _, scopeName := range slices.Sorted(maps.Keys(scopes)) {
			s, ok := parseScope(scopeName)
			if !ok {
				errs = append(errs, fmt.Errorf("quotas.%s: %q is not a scope; use account or snapshot", opName, scopeName))
				continue
			}
			in := scopes[scopeName]
			l := q.Limit(op, s)
			if in.Rate != nil {
				l = Limit{Rate: *in.Rate}
			}
			if in.Burst != nil {
				l.Burst = *in.Burst
			}
			if err := q.Set(op, s, l); err != nil {
				errs = append(errs, fmt.Errorf("quotas.%s.%s: %w", opName, scopeName, err))
			}
		}
	}
	if len(errs) > 0 {
		return Quotas{}, errors.Join(errs...)
	}
	return q, nil
}

func parseOp(s string) (Op, bool) {
	i := slices.Index(opNames[:], s)
	return Op(i), i >= 0
}

func parseScope(s string) (Scope, bool) {
	i := slices.Index(scopeNames[:], s)
	return Scope(i), i >= 0
}
