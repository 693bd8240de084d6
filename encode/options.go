package encode

import (
	"fmt"
	"strings"
)

// delimitedOptions checks the options of csv (csv true) or tsv the way
// COPY's ProcessCopyOptions does, and returns the delimiter and NULL string
// in effect.
func delimitedOptions(opts Options, csv bool) (delim byte, null string, err error) {
	format, delim, null := "tsv", byte('\t'), opts.null(`\N`)
	if csv {
		format, delim, null = "csv", ',', opts.null("")
	}
	if opts.Delimiter != 0 {
		delim = opts.Delimiter
	}
	switch {
	case delim >= 0x80:
		return 0, "", optionErrorf("Delimiter", "%s delimiter must be a single one-byte (ASCII) character, not byte 0x%02x", format, delim)
	case delim == '\n' || delim == '\r':
		return 0, "", optionErrorf("Delimiter", "%s delimiter cannot be newline or carriage return", format)
	case csv && delim == '"':
		return 0, "", optionErrorf("Delimiter", "csv delimiter cannot be the quote character '\"'")
	case !csv && strings.IndexByte(`\.abcdefghijklmnopqrstuvwxyz0123456789`, delim) >= 0:
		return 0, "", optionErrorf("Delimiter", "tsv delimiter cannot be %q (a backslash, '.', a lower-case letter or a digit would be read back as an escape or data)", string(rune(delim)))
	}
	switch {
	case strings.ContainsAny(null, "\r\n"):
		return 0, "", optionErrorf("Null", "%s null representation cannot use newline or carriage return", format)
	case strings.IndexByte(null, 0) >= 0:
		return 0, "", optionErrorf("Null", "%s null representation cannot contain a zero byte", format)
	case strings.IndexByte(null, delim) >= 0:
		return 0, "", optionErrorf("Null", "%s delimiter %q must not appear in the null representation %q", format, delim, null)
	case csv && strings.IndexByte(null, '"') >= 0:
		return 0, "", optionErrorf("Null", "csv quote character '\"' must not appear in the null representation %q", null)
	}
	return delim, null, nil
}

// jsonOptions rejects the csv/tsv options for jsonl and json.
func jsonOptions(opts Options, format string) error {
	switch {
	case opts.Header:
		return optionErrorf("Header", "applies to csv and tsv, not %s", format)
	case opts.Null != "" || opts.NullSet:
		return optionErrorf("Null", "applies to csv and tsv, not %s (%s writes NULL as null)", format, format)
	case opts.Delimiter != 0:
		return optionErrorf("Delimiter", "applies to csv and tsv, not %s", format)
	}
	return nil
}

// OptionError is an invalid format name or Options field, as New reports
// it. Option names what was wrong ("format", "Header", "Null" or
// "Delimiter") and Reason says why, in words that do not repeat the name, so
// a caller (the CLI) can put its own spelling of the option in front.
type OptionError struct {
	Option string
	Reason string
}

func (e *OptionError) Error() string { return "encode: " + e.Option + ": " + e.Reason }

func optionErrorf(option, format string, args ...any) error {
	return &OptionError{Option: option, Reason: fmt.Sprintf(format, args...)}
}
