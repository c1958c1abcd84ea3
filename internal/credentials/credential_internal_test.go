package credentials

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestGenerateFromZeros(t *testing.T) {
	c, err := generate(bytes.NewReader(make([]byte, 100)))
	if err != nil {
		t.Fatal(err)
	}
	want := Credential{
		AccessKeyID:     "AKIAAAAAAAAAAAAAAAAA",
		SecretAccessKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		AccountID:       "100000000000", // the smallest account ID without a leading 0
	}
	if c != want {
		t.Errorf("generate(zeros) = %#v (secret %q), want %#v (secret %q)", c, c.SecretAccessKey, want, want.SecretAccessKey)
	}
}

func TestGenerateReadError(t *testing.T) {
	boom := errors.New("boom")
	for _, n := range []int{0, accessKeyRandLen, accessKeyRandLen + secretRandLen} {
		r := io.MultiReader(bytes.NewReader(make([]byte, n)), iotest.ErrReader(boom))
		if _, err := generate(r); !errors.Is(err, boom) {
			t.Errorf("generate with %d random bytes available: err = %v, want %v", n, err, boom)
		}
	}
}
