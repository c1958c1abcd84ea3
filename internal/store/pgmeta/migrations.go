package pgmeta

import (
	"embed"
	"io/fs"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// component names pgmeta's migrations in schema_migrations.
const component = "pgmeta"

// migrations is the directory of versioned schema files, for pgdb.Migrate.
func migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return sub
}
