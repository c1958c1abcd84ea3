package snapshot_test

import (
	"context"
	"testing"

	"github.com/ebsd/ebsd/internal/ebs"
	"github.com/ebsd/ebsd/internal/keyring"
	"github.com/ebsd/ebsd/internal/snapshot"
	"github.com/ebsd/ebsd/internal/store/memstore"
)

// TestKMSKeyOwnership checks that an account encrypts only with its own
// keys (review F13): another account's key, its default key included, is
// refused as AWS refuses it, whether or not this server holds that key.
func TestKMSKeyOwnership(t *testing.T) {
	ctx := context.Background()
	const other = "444455556666"
	keys, err := keyring.Open(t.TempDir()+"/kms-keys.json", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := snapshot.New(ctx, snapshot.Options{Meta: memstore.NewMeta(), Blocks: memstore.NewBlocks(), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	otherDefault, err := keys.DefaultKeyARN(other)
	if err != nil {
		t.Fatal(err)
	}
	ownNamed, otherNamed := "arn:aws:kms:us-east-1:"+account+":key/backups", "arn:aws:kms:us-east-1:"+other+":key/backups"
	for _, arn := range []string{ownNamed, otherNamed} {
		if err := keys.Add(arn); err != nil {
			t.Fatal(err)
		}
	}
	start := func(acct, arn string) (*snapshot.SnapshotOutput, error) {
		return svc.StartSnapshot(ctx, snapshot.StartInput{AccountID: acct, VolumeSize: p(int64(1)), KMSKeyARN: &arn})
	}

	denied := []struct{ name, arn string }{
		{"another account's default key", otherDefault},
		{"another account's named key", otherNamed},
		{"another account's key this server lacks", "arn:aws:kms:us-east-1:" + other + ":key/nope"},
		// The account is the ARN's fifth field, not any 12 digits in it.
		{"own account elsewhere in the ARN", "arn:aws:kms:us-east-1:" + other + ":key/" + account},
		{"own account in the region", "arn:aws:kms:" + account + ":" + other + ":key/x"},
	}
	for _, tc := range denied {
		t.Run(tc.name, func(t *testing.T) {
			_, err := start(account, tc.arn)
			wantKind(t, err, ebs.KindAccessDenied, ebs.ReasonDependencyAccessDenied, "not authorized to use the KMS key '"+tc.arn+"'")
		})
	}

	t.Run("own named key", func(t *testing.T) {
		out, err := start(account, ownNamed)
		if err != nil || out.KMSKeyARN != ownNamed {
			t.Fatalf("StartSnapshot with the account's own key = %+v, %v", out, err)
		}
	})
	t.Run("the owner uses its keys", func(t *testing.T) {
		for _, arn := range []string{otherDefault, otherNamed} {
			if out, err := start(other, arn); err != nil || out.KMSKeyARN != arn {
				t.Fatalf("StartSnapshot by the owner with %s = %+v, %v", arn, out, err)
			}
		}
	})
	t.Run("own key this server lacks", func(t *testing.T) {
		_, err := start(account, "arn:aws:kms:us-east-1:"+account+":key/nope")
		wantKind(t, err, ebs.KindInvalid, ebs.ReasonInvalidCustomerKey, "not configured")
	})
}
