package keyring

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// maxARNLen is the modelled maximum length of KmsKeyArn.
const maxARNLen = 2048

// arnPattern is the modelled pattern of KmsKeyArn, matched in full.
var arnPattern = regexp.MustCompile(`^arn:aws[a-z\-]*:kms:.*:[0-9]{12}:key/.*$`)

// accountPattern is a 12-digit AWS account ID.
var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// regionPattern is what a region must look like to be put in an ARN.
var regionPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// checkARN reports whether arn is a KMS key ARN the API would accept.
func checkARN(arn string) error {
	if len(arn) == 0 || len(arn) > maxARNLen || !arnPattern.MatchString(arn) {
		return fmt.Errorf("keyring: %q is not a KMS key ARN", arn)
	}
	return nil
}

// checkAccount reports whether account is a 12-digit account ID.
func checkAccount(account string) error {
	if !accountPattern.MatchString(account) {
		return fmt.Errorf("keyring: %q is not a 12-digit account ID", account)
	}
	return nil
}

// ownedBy reports whether the KMS key ARN arn names a key of account.
func ownedBy(arn, account string) bool {
	return strings.Contains(arn, ":"+account+":key/")
}

// defaultARN returns a new ARN for the default key of account in region.
func defaultARN(region, account string) (string, error) {
	id, err := newUUID()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", region, account, id), nil
}

// newUUID returns a random (version 4) UUID, the form of KMS key IDs.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("keyring: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}
