package pgmeta

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Secret implements store.MetaStore. The first writer wins across
// processes: a caller that finds no secret generates one and inserts it
// ON CONFLICT DO NOTHING, then reads back whichever insert committed
// first, so every node gets the same secret (a loser's generate result is
// dropped). Within a process, callers take turns (secretMu), so
// generate runs once per name there.
func (s *Store) Secret(ctx context.Context, name string, generate func() ([]byte, error)) ([]byte, error) {
	if err := s.enter("Secret"); err != nil {
		return nil, err
	}
	s.secretMu.Lock()
	defer s.secretMu.Unlock()
	const read = `SELECT value FROM secrets WHERE name = $1`
	var v []byte
	err := s.pool.QueryRow(ctx, read, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, wrapOp("Secret", err)
	}
	gen, err := generate()
	if err != nil {
		return nil, fmt.Errorf("pgmeta: Secret %q: %w", name, err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING`, name, nonNil(gen)); err != nil {
		return nil, wrapOp("Secret", err)
	}
	if err := s.pool.QueryRow(ctx, read, name).Scan(&v); err != nil {
		return nil, wrapOp("Secret", err)
	}
	return v, nil
}
