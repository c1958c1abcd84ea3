package server

import "github.com/ebsd/ebsd/internal/credentials"

// storageQuota returns the service's quota of an account: the one its
// entries of the credentials file set, else the server's default. It
// reads the credentials at each call, so a reload (SIGHUP) applies to the
// next request.
func storageQuota(creds *credentials.Store, def int64) func(accountID string) int64 {
	return func(accountID string) int64 {
		if q, ok := creds.StorageQuota(accountID); ok {
			return q
		}
		return def
	}
}
