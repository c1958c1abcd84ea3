package sigv4

import "strings"

// The fixed parts of a SigV4 Authorization header.
const (
	algorithm  = "AWS4-HMAC-SHA256"
	terminator = "aws4_request"
)

// authorization is a parsed Authorization header. Its strings point into
// the header value.
type authorization struct {
	accessKeyID   string
	date          string // yyyymmdd of the credential scope
	region        string
	service       string
	scope         string // date/region/service/aws4_request
	signedHeaders string // verbatim, e.g. "host;x-amz-date"
	signature     string
}

// parseAuthorization parses h, an Authorization header value. hasDate says
// whether the request carries X-Amz-Date or Date, so that one error can
// list everything that is missing, as AWS does.
func parseAuthorization(h string, hasDate bool) (authorization, error) {
	var a authorization
	alg, rest, _ := strings.Cut(h, " ")
	if alg != algorithm {
		return a, errIncomplete("Unsupported Authorization type '%s': only %s (Signature Version 4) is accepted.", echo(alg), algorithm)
	}
	var credential string
	var seen [3]bool
	for rest != "" {
		var p string
		p, rest, _ = strings.Cut(rest, ",")
		p = strings.Trim(p, " \t")
		if p == "" {
			continue
		}
		key, value, ok := strings.Cut(p, "=")
		if !ok {
			return a, errIncomplete("Invalid key=value pair (missing equal-sign) in Authorization header: '%s'.", echo(p))
		}
		var slot *string
		var i int
		switch key {
		case "Credential":
			slot, i = &credential, 0
		case "SignedHeaders":
			slot, i = &a.signedHeaders, 1
		case "Signature":
			slot, i = &a.signature, 2
		default:
			continue // like AWS, ignore parameters it does not know
		}
		if seen[i] {
			return a, errIncomplete("Authorization header has more than one '%s' parameter.", key)
		}
		seen[i] = true
		*slot = value
	}

	var missing []string
	if credential == "" {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if a.signature == "" {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if a.signedHeaders == "" {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if !hasDate {
		missing = append(missing, msgMissingDate)
	}
	if missing != nil {
		return a, errIncomplete("%s", strings.Join(missing, " "))
	}

	if err := a.parseCredential(credential); err != nil {
		return a, err
	}
	if !hasSignedHost(a.signedHeaders) {
		return a, errIncomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return a, nil
}

// parseCredential splits "AKID/20260101/us-east-1/ebs/aws4_request" into
// a. The service is checked by the Verifier, which knows its own; the date
// is checked against the request date.
func (a *authorization) parseCredential(c string) error {
	if strings.Count(c, "/") != 4 {
		return errIncomplete("Credential should be of the form '<access key ID>/<yyyymmdd>/<region>/<service>/%s', not '%s'.", terminator, echo(c))
	}
	akid, rest, _ := strings.Cut(c, "/")
	date, rest, _ := strings.Cut(rest, "/")
	region, rest, _ := strings.Cut(rest, "/")
	service, term, _ := strings.Cut(rest, "/")
	switch {
	case akid == "" || date == "" || service == "":
		return errIncomplete("Credential should be of the form '<access key ID>/<yyyymmdd>/<region>/<service>/%s', not '%s'.", terminator, echo(c))
	case region == "":
		return errIncomplete("Credential should be scoped to a valid region, not ''.")
	case term != terminator:
		return errIncomplete("Credential should be scoped with a valid terminator: '%s', not '%s'.", terminator, echo(term))
	}
	a.accessKeyID, a.date, a.region, a.service = akid, date, region, service
	a.scope = c[len(akid)+1:]
	return nil
}

// hasSignedHost reports whether the SignedHeaders list names host.
func hasSignedHost(signed string) bool {
	for signed != "" {
		var name string
		name, signed, _ = strings.Cut(signed, ";")
		if strings.EqualFold(name, "host") {
			return true
		}
	}
	return false
}
