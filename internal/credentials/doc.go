// Package credentials keeps the access keys that ebsd accepts: for each
// access key ID, the secret key that SigV4 signatures are checked with and
// the 12-digit account ID the caller acts as.
//
// The keys live in one JSON file, normally <data dir>/credentials.json:
//
//	{
//	  "version": 1,
//	  "credentials": [
//	    {
//	      "access_key_id": "AKIAIOSFODNN7EXAMPLE",
//	      "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
//	      "account_id": "123456789012"
//	    }
//	  ]
//	}
//
// Several credentials may share one account ID; access key IDs must be
// unique. On first start, LoadOrCreate generates one credential and writes
// the file with mode 0600 so that the operator can copy the key into an
// AWS SDK profile.
//
// A Store loaded from a file re-reads it on Reload and when a lookup
// misses (at most once a second); a broken file keeps the old content.
//
// Secrets never appear in error messages, warnings, or the fmt and slog
// renderings of Credential and Store.
package credentials
