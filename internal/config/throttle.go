package config

import (
	"fmt"
	"strings"

	"github.com/ebsd/ebsd/internal/throttle"
)

// The values of Throttle.
const (
	ThrottleOff = "off"
	ThrottleAWS = "aws" // AWS's quotas, spec §7.10
)

// ThrottleQuotas returns the request-rate quotas to enforce: nil when
// Throttle is off, else AWS's quotas with the overrides of the
// ThrottleConfig file, which it reads.
func (c Config) ThrottleQuotas() (*throttle.Quotas, error) {
	if !strings.EqualFold(c.Throttle, ThrottleAWS) {
		return nil, nil
	}
	q := throttle.AWS()
	if c.ThrottleConfig != "" {
		var err error
		if q, err = throttle.LoadFile(c.ThrottleConfig); err != nil {
			return nil, fmt.Errorf("-throttle-config (EBSD_THROTTLE_CONFIG): %w", err)
		}
	}
	return &q, nil
}
