package session

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// redactedPassword stands in for a password in anything the library prints.
const redactedPassword = "xxxxx"

var (
	// keyword/value form, as libpq reads it: optional spaces around '=', a
	// value quoted with ' (backslash escapes) or running to the next space.
	// pgx's own redaction misses "password = s3cret".
	kvPassword = regexp.MustCompile(`(?i)\b(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'?|\S*)`)
	// URL query parameters password= and sslpassword=.
	queryPassword = regexp.MustCompile(`(?i)[?&](?:ssl)?password=([^&#\s]*)`)
)

// RedactDSN returns dsn with every password in it (a URL's user:password@,
// a password or sslpassword keyword or query parameter, quoted or not, with
// or without spaces around '=') replaced by "xxxxx". It is for printing a
// connection string; it over-masks rather than leak when dsn is malformed.
func RedactDSN(dsn string) string {
	spans := secretSpans(dsn)
	var b strings.Builder
	last := 0
	for _, s := range spans {
		if s[0] < last {
			continue // overlapping spans: the earlier already masked it
		}
		b.WriteString(dsn[last:s[0]])
		b.WriteString(redactedPassword)
		last = s[1]
	}
	b.WriteString(dsn[last:])
	return b.String()
}

// secretSpans locates the password values in dsn, sorted by start.
func secretSpans(dsn string) [][2]int {
	var spans [][2]int
	kv := kvPassword
	if isURL(dsn) {
		kv = queryPassword // a URL's query: '&' ends a value, not a space
	}
	for _, m := range kv.FindAllStringSubmatchIndex(dsn, -1) {
		if m[3] > m[2] {
			spans = append(spans, [2]int{m[2], m[3]})
		}
	}
	if s, ok := urlPasswordSpan(dsn); ok {
		spans = append(spans, s)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	return spans
}

func isURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// urlPasswordSpan finds user:password@ in a postgres:// URL: what follows
// the first ':' of the part before the last '@' (a password may hold '@'
// or '/' unescaped in a malformed URL: masking too much is the safe side).
func urlPasswordSpan(dsn string) ([2]int, bool) {
	i := strings.Index(dsn, "://")
	if i < 0 || !isURL(dsn) {
		return [2]int{}, false
	}
	start := i + 3
	at := strings.LastIndex(dsn[start:], "@")
	if at < 0 {
		return [2]int{}, false
	}
	colon := strings.Index(dsn[start:start+at], ":")
	if colon < 0 || colon+1 == at {
		return [2]int{}, false
	}
	return [2]int{start + colon + 1, start + at}, true
}

// scrubSecrets replaces in text every password found in dsn (as written,
// without quotes, and percent-decoded), for error texts from parsers that
// may quote a part of the connection string.
func scrubSecrets(text, dsn string) string {
	var secrets []string
	for _, s := range secretSpans(dsn) {
		v := dsn[s[0]:s[1]]
		secrets = append(secrets, v, strings.Trim(v, "'"))
		if d, err := url.PathUnescape(v); err == nil {
			secrets = append(secrets, d)
		}
	}
	// longest first, so a secret that contains another is masked whole
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, redactedPassword)
		}
	}
	return RedactDSN(text)
}
