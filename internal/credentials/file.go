package credentials

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// fileVersion is the only version of the file format this package reads
// and writes.
const fileVersion = 1

// Limits on an access key ID, those of AWS IAM.
const (
	minKeyIDLen = 16
	maxKeyIDLen = 128
)

// fileJSON is the on-disk form of a credentials file.
type fileJSON struct {
	Version     int              `json:"version"`
	Credentials []credentialJSON `json:"credentials"`
}

type credentialJSON struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	AccountID       string `json:"account_id"`
	// StorageQuota is a number of bytes or a size string ("100GiB").
	StorageQuota json.RawMessage `json:"storage_quota,omitempty"`
}

// encodeFile renders creds as the content of a credentials file.
func encodeFile(creds []Credential) ([]byte, error) {
	f := fileJSON{Version: fileVersion, Credentials: make([]credentialJSON, len(creds))}
	for i, c := range creds {
		f.Credentials[i] = credentialJSON{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, AccountID: c.AccountID}
		if c.StorageQuota != nil {
			f.Credentials[i].StorageQuota = json.RawMessage(strconv.FormatInt(*c.StorageQuota, 10))
		}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode credentials: %w", err)
	}
	return append(b, '\n'), nil
}

// decodeFile parses and checks the content of a credentials file. The
// problems it returns are complete sentences about the file's content;
// they never quote a secret.
func decodeFile(data []byte) ([]Credential, []string) {
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	// A misspelt field name would otherwise be dropped silently and show up
	// later as a confusing "missing" value.
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, []string{describeJSONError(data, err)}
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return nil, []string{"unexpected content after the JSON object"}
	}

	var problems []string
	switch {
	case f.Version == 0:
		problems = append(problems, fmt.Sprintf(`"version" is missing; add "version": %d`, fileVersion))
	case f.Version != fileVersion:
		problems = append(problems, fmt.Sprintf(`"version" is %d, but this ebsd reads only version %d`, f.Version, fileVersion))
	}
	creds := make([]Credential, len(f.Credentials))
	for i, c := range f.Credentials {
		creds[i] = Credential{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, AccountID: c.AccountID}
		if c.StorageQuota != nil {
			q, err := parseQuota(c.StorageQuota)
			if err != nil {
				problems = append(problems, fmt.Sprintf("credentials[%d]: storage_quota %s", i, err))
				continue
			}
			creds[i].StorageQuota = &q
		}
	}
	return creds, append(problems, checkCredentials(creds)...)
}

// checkCredentials returns every rule that creds break.
func checkCredentials(creds []Credential) []string {
	if len(creds) == 0 {
		return []string{`"credentials" is empty; add at least one {"access_key_id", "secret_access_key", "account_id"} entry`}
	}
	problems := checkQuotas(creds)
	first := make(map[string]int, len(creds))
	for i, c := range creds {
		where := fmt.Sprintf("credentials[%d]", i)
		if c.AccessKeyID != "" && validKeyID(c.AccessKeyID) {
			where += fmt.Sprintf(" (access_key_id %s)", c.AccessKeyID)
		}
		switch {
		case c.AccessKeyID == "":
			problems = append(problems, where+": access_key_id is missing or empty")
		case !validKeyID(c.AccessKeyID):
			problems = append(problems, fmt.Sprintf("%s: access_key_id %q has %d characters; it must have %d to %d, each A-Z or 0-9",
				where, c.AccessKeyID, len(c.AccessKeyID), minKeyIDLen, maxKeyIDLen))
		default:
			if j, dup := first[c.AccessKeyID]; dup {
				problems = append(problems, fmt.Sprintf("%s: access_key_id is the same as credentials[%d]'s; access key IDs must be unique", where, j))
			} else {
				first[c.AccessKeyID] = i
			}
		}
		if c.SecretAccessKey == "" {
			problems = append(problems, where+": secret_access_key is missing or empty")
		}
		switch {
		case c.AccountID == "":
			problems = append(problems, where+": account_id is missing or empty")
		case !validAccountID(c.AccountID):
			problems = append(problems, fmt.Sprintf("%s: account_id %q must be exactly 12 digits, like 123456789012", where, c.AccountID))
		}
	}
	return problems
}

func validKeyID(s string) bool {
	if len(s) < minKeyIDLen || len(s) > maxKeyIDLen {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func validAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// describeJSONError turns a decoding error into a sentence that points at
// the line and column, without Go type names.
func describeJSONError(data []byte, err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return `the file is empty; it must hold a JSON object like {"version": 1, "credentials": [...]}`
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early; is the file truncated?"
	case errors.As(err, &syntax):
		line, col := position(data, syntax.Offset)
		return fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, syntax.Error())
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "the top level"
		}
		return fmt.Sprintf("line %d, column %d: %s is a JSON %s, but must be a %s",
			line, col, field, typ.Value, jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for unknown fields.
		return fmt.Sprintf("%s; the known fields are version, credentials, access_key_id, secret_access_key, account_id and storage_quota",
			strings.TrimPrefix(err.Error(), "json: "))
	default:
		return fmt.Sprintf("invalid JSON: %v", err)
	}
}

// jsonKind names a Go kind the way the file's author thinks of it.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "JSON string"
	case "int":
		return "JSON number"
	case "slice":
		return "JSON array"
	case "struct":
		return "JSON object"
	}
	return goKind
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}
