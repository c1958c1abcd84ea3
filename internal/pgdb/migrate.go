package pgdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationName is a migration file: a 4-digit version, a name, .sql.
var migrationName = regexp.MustCompile(`^([0-9]{4})_[A-Za-z0-9_-]+\.sql$`)

// migration is one versioned step of a component's schema.
type migration struct {
	version int
	name    string
	sql     string
}

// Migrate brings component's tables to the newest version in migrations:
// the files at its root named NNNN_name.sql (0001_init.sql, 0002_….sql),
// versions 1, 2, … without gaps. Each file runs in its own transaction with
// the row that records it in schema_migrations(component, version), so a
// crash leaves the database at a version, never between two; files already
// recorded are skipped. Nodes starting at once take turns (an advisory
// lock), so each file runs once. A database recorded at a version newer than
// migrations holds is refused with ErrSchemaTooNew: it was migrated by a
// newer ebsd, whose tables this one may misread.
//
// A migration file may hold several statements; it must not contain
// statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY).
func Migrate(ctx context.Context, pool *pgxpool.Pool, component string, migrations fs.FS) error {
	steps, err := readMigrations(migrations)
	if err != nil {
		return fmt.Errorf("pgdb: migrations of %s: %w", component, err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgdb: migrate %s: %w", component, Unavailable(err))
	}
	defer conn.Release()
	unlock, err := lockMigrations(ctx, conn.Conn())
	if err != nil {
		return fmt.Errorf("pgdb: migrate %s: %w", component, Unavailable(err))
	}
	defer unlock()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		component text NOT NULL,
		version integer NOT NULL,
		name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (component, version))`); err != nil {
		return fmt.Errorf("pgdb: migrate %s: create schema_migrations: %w", component, Unavailable(err))
	}
	var current int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = $1`,
		component).Scan(&current); err != nil {
		return fmt.Errorf("pgdb: migrate %s: read version: %w", component, Unavailable(err))
	}
	if known := len(steps); current > known {
		return fmt.Errorf("pgdb: %s: the database is at schema version %d and this ebsd knows up to %d: upgrade ebsd: %w",
			component, current, known, ErrSchemaTooNew)
	}
	for _, m := range steps[current:] {
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (component, version, name) VALUES ($1, $2, $3)`,
				component, m.version, m.name)
			return err
		}); err != nil {
			return fmt.Errorf("pgdb: migrate %s to version %d (%s): %w", component, m.version, m.name, Unavailable(err))
		}
	}
	return nil
}

// readMigrations returns the migrations in fsys in version order, checking
// that they are numbered 1, 2, … without gaps or duplicates.
func readMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var steps []migration
	for _, e := range entries {
		sub := migrationName.FindStringSubmatch(e.Name())
		if e.IsDir() || sub == nil {
			continue
		}
		v, _ := strconv.Atoi(sub[1])
		text, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		steps = append(steps, migration{version: v, name: e.Name(), sql: string(text)})
	}
	if len(steps) == 0 {
		return nil, errors.New("no NNNN_name.sql file")
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].version < steps[j].version })
	for i, m := range steps {
		if m.version != i+1 {
			return nil, fmt.Errorf("%s: want version %d (versions start at 0001, without gaps or duplicates)", m.name, i+1)
		}
	}
	return steps, nil
}
