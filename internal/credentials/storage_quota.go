package credentials

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/ebsd/ebsd/internal/config"
)

// parseQuota parses a storage_quota: a JSON number of bytes, or a string
// with a unit as the -storage-quota flag takes ("100GiB", "1TB").
func parseQuota(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, fmt.Errorf("is not a valid JSON string: %w", err)
		}
		n, err := config.ParseSize(s)
		if err != nil {
			return 0, fmt.Errorf("is not a size: %w", err)
		}
		return n, nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("is %s; it must be a whole number of bytes or a string like \"100GiB\"", raw)
	}
	return n, nil
}

// checkQuotas returns a problem for each account whose entries set
// different storage quotas: a quota is the account's, not a key's.
func checkQuotas(creds []Credential) []string {
	var problems []string
	first := make(map[string]int)
	for i, c := range creds {
		if c.StorageQuota == nil {
			continue
		}
		j, ok := first[c.AccountID]
		if !ok {
			first[c.AccountID] = i
			continue
		}
		if *creds[j].StorageQuota != *c.StorageQuota {
			problems = append(problems, fmt.Sprintf("credentials[%d]: storage_quota %d differs from credentials[%d]'s %d for the same account %s; give the account's entries one quota",
				i, *c.StorageQuota, j, *creds[j].StorageQuota, c.AccountID))
		}
	}
	return problems
}

// StorageQuota returns the storage quota of account in bytes that the
// credentials set, 0 meaning none, and whether any entry of the account
// sets one; when none does, the server's -storage-quota applies. It
// follows Reload.
func (s *Store) StorageQuota(accountID string) (quota int64, ok bool) {
	quota, ok = s.content.Load().quotas[accountID]
	return quota, ok
}
