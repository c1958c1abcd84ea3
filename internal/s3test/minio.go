package s3test

import "path/filepath"

// EngineMinIO is MinIO, the default engine: the S3 server ebsd's
// distributed mode is deployed on most. scripts/install-minio.sh builds it.
const EngineMinIO = "minio"

var minio = &engine{
	name:    EngineMinIO,
	install: "scripts/install-minio.sh",
	health:  "/minio/health/ready",
	command: func(s *Server, addr, dir string) ([]string, []string, error) {
		// MinIO also serves a console, on a port of its own.
		console, err := freeAddr()
		if err != nil {
			return nil, nil, err
		}
		args := []string{"server", "--quiet", "--address", addr, "--console-address", console, filepath.Join(dir, "data")}
		env := []string{"MINIO_ROOT_USER=" + s.AccessKey, "MINIO_ROOT_PASSWORD=" + s.SecretKey,
			"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1"}
		return args, env, nil
	},
}
