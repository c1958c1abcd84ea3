package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// Cases about Secret.

// metaGenerator returns a generate function for Secret that counts its
// calls and returns fresh random bytes.
func metaGenerator(calls *atomic.Int32) func() ([]byte, error) {
	return func() ([]byte, error) {
		calls.Add(1)
		return []byte(rand.Text()), nil
	}
}

// metaNoGenerate is a generate function for a secret that must exist.
func metaNoGenerate(tb testing.TB) func() ([]byte, error) {
	return func() ([]byte, error) {
		tb.Error("generate called for a secret that exists")
		return []byte("wrong"), nil
	}
}

func testMetaSecretGeneratedOnce(t *testing.T, env *metaEnv) {
	const callers = 16
	var calls atomic.Int32
	got := make([][]byte, callers)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			v, err := env.ms.Secret(env.ctx, "token-key", metaGenerator(&calls))
			if err != nil {
				t.Errorf("Secret: %v", err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("generate called %d times by %d concurrent callers, want 1", n, callers)
	}
	for i, v := range got {
		if len(v) == 0 || !bytes.Equal(v, got[0]) {
			t.Errorf("caller %d got secret %q, caller 0 got %q", i, v, got[0])
		}
	}

	again, err := env.ms.Secret(env.ctx, "token-key", metaNoGenerate(t))
	if err != nil || !bytes.Equal(again, got[0]) {
		t.Errorf("Secret later = %q, %v; want %q", again, err, got[0])
	}
	other, err := env.ms.Secret(env.ctx, "other-key", metaGenerator(&calls))
	if err != nil || len(other) == 0 || bytes.Equal(other, got[0]) {
		t.Errorf("Secret(other name) = %q, %v; want a secret of its own", other, err)
	}
}

func testMetaSecretGenerateError(t *testing.T, env *metaEnv) {
	errGen := errors.New("no entropy")
	_, err := env.ms.Secret(env.ctx, "k", func() ([]byte, error) { return nil, errGen })
	if !errors.Is(err, errGen) {
		t.Fatalf("Secret with a failing generate: error = %v, want generate's error", err)
	}
	want := []byte("second try")
	got, err := env.ms.Secret(env.ctx, "k", func() ([]byte, error) { return want, nil })
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Secret after a failed generate = %q, %v; want %q", got, err, want)
	}
}

func testMetaSecretReopen(t *testing.T, env *metaEnv) {
	var calls atomic.Int32
	want, err := env.ms.Secret(env.ctx, "k", metaGenerator(&calls))
	if err != nil {
		t.Fatalf("Secret: %v", err)
	}
	env.reopen(t)
	got, err := env.ms.Secret(env.ctx, "k", metaNoGenerate(t))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Secret after reopening = %q, %v; want %q", got, err, want)
	}
}
