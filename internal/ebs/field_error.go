package ebs

import (
	"fmt"
	"strings"
)

// Violation is one request member that fails its modelled constraint, in
// the shape of AWS's framework validation ("Value '50' at 'maxResults'
// failed to satisfy constraint: Member must have value greater than or
// equal to 100").
type Violation struct {
	Member     string  // the lower-camel member name, e.g. "maxResults"
	Value      *string // the offending value, nil when the member is missing
	Constraint string  // e.g. "Member must not be null"
}

func (v Violation) String() string {
	value := "null"
	if v.Value != nil {
		value = "'" + *v.Value + "'"
	}
	return fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", value, v.Member, v.Constraint)
}

// InvalidFields returns the framework-style validation error for vs, which
// must not be empty. Its message reads like AWS's: "1 validation error
// detected: ...", violations joined with "; ".
func InvalidFields(op string, vs ...Violation) *Error {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	noun := "errors"
	if len(vs) == 1 {
		noun = "error"
	}
	return &Error{
		Op:      op,
		Kind:    KindInvalidField,
		Reason:  ReasonInvalidParameterValue,
		Message: fmt.Sprintf("%d validation %s detected: %s", len(vs), noun, strings.Join(parts, "; ")),
	}
}

// Constraint texts used by AWS's framework validation.
const (
	ConstraintNotNull  = "Member must not be null"
	ConstraintInteger  = "Member must be an integer"
	ConstraintBoolean  = "Member must be a boolean"
	ConstraintNotEmpty = "Member must have length greater than or equal to 1"
)

// ConstraintMin is "Member must have value greater than or equal to n".
func ConstraintMin(n int64) string {
	return fmt.Sprintf("Member must have value greater than or equal to %d", n)
}

// ConstraintMax is "Member must have value less than or equal to n".
func ConstraintMax(n int64) string {
	return fmt.Sprintf("Member must have value less than or equal to %d", n)
}

// ConstraintMaxLen is "Member must have length less than or equal to n".
func ConstraintMaxLen(n int) string {
	return fmt.Sprintf("Member must have length less than or equal to %d", n)
}

// ConstraintMinLen is "Member must have length greater than or equal to n".
func ConstraintMinLen(n int) string {
	return fmt.Sprintf("Member must have length greater than or equal to %d", n)
}

// ConstraintPattern is "Member must satisfy regular expression pattern: re".
func ConstraintPattern(re string) string {
	return "Member must satisfy regular expression pattern: " + re
}

// ConstraintEnum is "Member must satisfy enum value set: [a, b]".
func ConstraintEnum(values ...string) string {
	return "Member must satisfy enum value set: [" + strings.Join(values, ", ") + "]"
}
