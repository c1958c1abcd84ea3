package ec2api

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Namespaces as the real services send them (docs/ec2-api.md §1): the EC2
// one with its trailing slash.
const (
	nsEC2 = "http://ec2.amazonaws.com/doc/2016-11-15/"
	nsSTS = "https://sts.amazonaws.com/doc/2011-06-15/"
)

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// contentType is the Content-Type of every answer, as Smithy's protocol
// tests expect of EC2 and as STS sends (text/xml).
const contentType = "text/xml;charset=UTF-8"

// timeLayout is the timestamp form of every EC2 and STS answer: UTC with
// milliseconds (docs/ec2-api.md §3.2).
const timeLayout = "2006-01-02T15:04:05.000Z"

// xmlDoc builds an XML document by appending to a byte slice. Elements
// are written in the order the code writes them; there is no indentation,
// which no client needs.
type xmlDoc struct{ b []byte }

func (d *xmlDoc) open(name string) {
	d.b = append(d.b, '<')
	d.b = append(d.b, name...)
	d.b = append(d.b, '>')
}

func (d *xmlDoc) close(name string) {
	d.b = append(d.b, '<', '/')
	d.b = append(d.b, name...)
	d.b = append(d.b, '>')
}

// text writes <name>v</name>, with v escaped.
func (d *xmlDoc) text(name, v string) {
	d.open(name)
	d.b = appendEscaped(d.b, v)
	d.close(name)
}

// textIf writes <name>v</name> unless v is empty.
func (d *xmlDoc) textIf(name, v string) {
	if v != "" {
		d.text(name, v)
	}
}

// int writes a decimal integer: never an empty element, which Go's SDK
// cannot parse as a number.
func (d *xmlDoc) int(name string, v int64) {
	d.open(name)
	d.b = strconv.AppendInt(d.b, v, 10)
	d.close(name)
}

func (d *xmlDoc) bool(name string, v bool) {
	d.open(name)
	d.b = strconv.AppendBool(d.b, v)
	d.close(name)
}

// time writes t in UTC with milliseconds.
func (d *xmlDoc) time(name string, t time.Time) {
	d.open(name)
	d.b = t.UTC().AppendFormat(d.b, timeLayout)
	d.close(name)
}

// appendEscaped appends s as XML character data. Besides the five
// predefined entities it writes tab, newline and carriage return as
// character references, so that a parser gives them back as sent
// (attribute-value normalization and line-end handling would not), and
// replaces what XML 1.0 cannot carry (most control characters, U+FFFE,
// U+FFFF, invalid UTF-8) with U+FFFD.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				b = append(b, "&amp;"...)
			case c == '<':
				b = append(b, "&lt;"...)
			case c == '>':
				b = append(b, "&gt;"...)
			case c == '"':
				b = append(b, "&quot;"...)
			case c == '\'':
				b = append(b, "&apos;"...)
			case c == '\t':
				b = append(b, "&#x9;"...)
			case c == '\n':
				b = append(b, "&#xA;"...)
			case c == '\r':
				b = append(b, "&#xD;"...)
			case c < 0x20:
				b = append(b, "\uFFFD"...)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// ec2Response starts the answer of an EC2 action: the declaration, the
// root element <{Action}Response> in the EC2 namespace and the request ID,
// which comes first (docs/ec2-api.md §3.1). end closes it.
func ec2Response(action, requestID string) *xmlDoc {
	d := &xmlDoc{b: make([]byte, 0, 512)}
	d.b = append(d.b, xmlHeader...)
	d.b = append(d.b, '<')
	d.b = append(d.b, action...)
	d.b = append(d.b, `Response xmlns="`...)
	d.b = append(d.b, nsEC2...)
	d.b = append(d.b, `">`...)
	d.text("requestId", requestID)
	return d
}

// end closes the root element of an answer begun with ec2Response.
func (d *xmlDoc) end(action string) []byte {
	d.close(action + "Response")
	return d.b
}

// ec2Return is the whole answer of an action with no output shape:
// AWS sends <return>true</return> (docs/ec2-api.md §3.1).
func ec2Return(action, requestID string) []byte {
	d := ec2Response(action, requestID)
	d.bool("return", true)
	return d.end(action)
}

// ec2Error is EC2's error document. Its request-ID element is RequestID,
// spelled unlike the success answer's requestId (docs/ec2-api.md §4.1).
func ec2Error(code, message, requestID string) []byte {
	d := &xmlDoc{b: make([]byte, 0, 256+len(message))}
	d.b = append(d.b, xmlHeader...)
	d.open("Response")
	d.open("Errors")
	d.open("Error")
	d.text("Code", code)
	d.text("Message", message)
	d.close("Error")
	d.close("Errors")
	d.text("RequestID", requestID)
	d.close("Response")
	return d.b
}

// stsError is the awsQuery error document of STS: a Type of Sender for the
// client's faults and Receiver for the server's (docs/ec2-api.md §5.8).
func stsError(code, message, requestID string, status int) []byte {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	d := &xmlDoc{b: make([]byte, 0, 256+len(message))}
	d.b = append(d.b, xmlHeader...)
	d.b = append(d.b, `<ErrorResponse xmlns="`...)
	d.b = append(d.b, nsSTS...)
	d.b = append(d.b, `">`...)
	d.open("Error")
	d.text("Type", typ)
	d.text("Code", code)
	d.text("Message", message)
	d.close("Error")
	d.text("RequestId", requestID)
	d.close("ErrorResponse")
	return d.b
}
