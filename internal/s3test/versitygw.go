package s3test

import (
	"os"
	"path/filepath"
)

// EngineVersityGW is the Versity S3 Gateway with its posix backend: each
// bucket a directory, each object a file (a key's slashes are
// directories), metadata in extended attributes. A second implementation
// of S3 that shares no code with MinIO, so that the S3 block store relies
// on S3's semantics rather than on one server's. scripts/install-versitygw.sh
// builds it.
const EngineVersityGW = "versitygw"

// versityHealth is the path versitygw answers 200 on: it has no health
// endpoint unless told one.
const versityHealth = "/ebsd-health"

var versitygw = &engine{
	name:    EngineVersityGW,
	install: "scripts/install-versitygw.sh",
	health:  versityHealth,
	command: func(s *Server, addr, dir string) ([]string, []string, error) {
		// The posix backend wants its root directory to exist.
		data := filepath.Join(dir, "data")
		if err := os.Mkdir(data, 0o700); err != nil {
			return nil, nil, err
		}
		args := []string{"--port", addr, "--region", s.Region, "--health", versityHealth, "--quiet", "posix", data}
		// The credentials through the environment, as for MinIO: not in
		// the process's arguments for ps to show. These are the names
		// versitygw reads first, so that others set in the test's
		// environment do not win.
		env := []string{"ROOT_ACCESS_KEY_ID=" + s.AccessKey, "ROOT_SECRET_ACCESS_KEY=" + s.SecretKey}
		return args, env, nil
	},
}
