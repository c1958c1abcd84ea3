package ec2api

import (
	"strconv"
	"strings"
)

// boolParam reads an optional boolean member: "true" or "false" in any
// case, false when absent.
func boolParam(n *node, name string) (bool, error) {
	p, err := boolPtrParam(n, name)
	if p == nil || err != nil {
		return false, err
	}
	return *p, nil
}

// boolPtrParam reads an optional boolean member, nil when absent.
func boolPtrParam(n *node, name string) (*bool, error) {
	v, ok := n.str(name)
	if !ok {
		return nil, nil
	}
	var b bool
	switch strings.ToLower(v) {
	case "true":
		b = true
	case "false":
	default:
		return nil, wireErr(fInvalidParameterValue, "Value (%s) for parameter %s is invalid. Expected: 'true' or 'false'.", echo(v), name)
	}
	return &b, nil
}

// int64Param reads an optional integer member, nil when absent. Its range
// is the service's to check.
func int64Param(n *node, name string) (*int64, error) {
	v, ok := n.str(name)
	if !ok {
		return nil, nil
	}
	i, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, wireErr(fInvalidParameterValue, "Value (%s) for parameter %s is invalid. Expected an integer.", echo(v), name)
	}
	return &i, nil
}

// requireList refuses an empty required list member.
func requireList(values []string, name string) error {
	if len(values) == 0 {
		return errMissing(name)
	}
	return nil
}

func errMissing(name string) error {
	return wireErr(fMissingParameter, "The request must contain the parameter %s", name)
}

func errDryRun() error { return wireErr(fDryRun, msgDryRun) }
