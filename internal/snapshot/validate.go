package snapshot

import (
	"regexp"
	"strconv"
	"unicode/utf8"

	"github.com/ebsd/ebsd/internal/ebs"
)

// Patterns of the service model (spec §4). The block and page token
// patterns are the real service's, which also allow '_' and '-'.
var (
	snapshotIDPattern = regexp.MustCompile(`^snap-[0-9a-f]+$`)
	checksumPattern   = regexp.MustCompile(`^[A-Za-z0-9+/=]+$`)
	enumPattern       = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	tokenPattern      = regexp.MustCompile(`^[A-Za-z0-9+/=_-]+$`)
	clientTokenRE     = regexp.MustCompile(`^[\S]+$`)
	kmsKeyARNPattern  = regexp.MustCompile(`arn:aws[a-z\-]*:kms:.*:[0-9]{12}:key/.*`)
)

// The pattern texts, as AWS quotes them in framework validation messages.
const (
	snapshotIDRE    = `^snap-[0-9a-f]+$`
	checksumRE      = `^[A-Za-z0-9+/=]+$`
	enumRE          = `^[A-Za-z0-9]+$`
	tokenRE         = `^[A-Za-z0-9+/=_-]+$`
	nonEmptyRE      = `^[\S\s]+$`
	anyRE           = `^[\S\s]*$`
	clientTokenText = `^[\S]+$`
	kmsKeyARNRE     = `arn:aws[a-z\-]*:kms:.*:[0-9]{12}:key/.*`
)

// fields collects the framework-style violations of one request, so that
// all of them are reported at once, as AWS does.
type fields struct {
	vs []ebs.Violation
}

func (f *fields) add(member string, value *string, constraint string) {
	f.vs = append(f.vs, ebs.Violation{Member: member, Value: value, Constraint: constraint})
}

// err returns the collected violations as one error, or nil.
func (f *fields) err(op string) error {
	if len(f.vs) == 0 {
		return nil
	}
	return ebs.InvalidFields(op, f.vs...)
}

// snapshotID checks a snapshot ID member.
func (f *fields) snapshotID(member string, v string) {
	switch {
	case v == "":
		f.add(member, &v, ebs.ConstraintMinLen(1))
	case len(v) > 64:
		f.add(member, &v, ebs.ConstraintMaxLen(64))
	case !snapshotIDPattern.MatchString(v):
		f.add(member, &v, ebs.ConstraintPattern(snapshotIDRE))
	}
}

// optSnapshotID checks an optional snapshot ID member.
func (f *fields) optSnapshotID(member string, v *string) {
	if v != nil {
		f.snapshotID(member, *v)
	}
}

// integer parses an integer member within [min, max]. It returns ok=false
// when the member is absent or invalid; absent is a violation only when
// required.
func (f *fields) integer(member string, v *string, required bool, min, max int64) (n int64, ok bool) {
	if v == nil {
		if required {
			f.add(member, nil, ebs.ConstraintNotNull)
		}
		return 0, false
	}
	n, err := strconv.ParseInt(*v, 10, 32)
	if err != nil {
		f.add(member, v, ebs.ConstraintInteger)
		return 0, false
	}
	if n < min {
		f.add(member, v, ebs.ConstraintMin(min))
		return 0, false
	}
	if n > max {
		f.add(member, v, ebs.ConstraintMax(max))
		return 0, false
	}
	return n, true
}

// text checks a string member's length (in characters) and pattern.
func (f *fields) text(member string, v *string, required bool, minLen, maxLen int, re *regexp.Regexp, reText string) {
	if v == nil {
		if required {
			f.add(member, nil, ebs.ConstraintNotNull)
		}
		return
	}
	n := utf8.RuneCountInString(*v)
	switch {
	case n < minLen:
		f.add(member, v, ebs.ConstraintMinLen(minLen))
	case maxLen > 0 && n > maxLen:
		f.add(member, v, ebs.ConstraintMaxLen(maxLen))
	case re != nil && !re.MatchString(*v):
		f.add(member, v, ebs.ConstraintPattern(reText))
	}
}

// enum checks an enum member: its length and pattern, then its value.
func (f *fields) enum(member string, v *string, values ...string) {
	if v == nil {
		return
	}
	before := len(f.vs)
	f.text(member, v, false, 0, 32, enumPattern, enumRE)
	if len(f.vs) > before {
		return
	}
	for _, ok := range values {
		if *v == ok {
			return
		}
	}
	f.add(member, v, ebs.ConstraintEnum(values...))
}

// token checks a block or page token member.
func (f *fields) token(member string, v *string, required bool) {
	f.text(member, v, required, 0, 256, tokenPattern, tokenRE)
}

// str returns a pointer to s, for messages and violations.
func str(s string) *string { return &s }
