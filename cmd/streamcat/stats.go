package main

import "bytes"

// recordCounter counts the rows that have fully left the process, from the
// bytes written: after stdout closed early, --stats reports those rather
// than the rows handed to the encoder, some of which sat in its buffer.
// tsv escapes line breaks and jsonl/json write one object per line, so a
// line break ends a row; csv may quote line breaks, so only those outside
// quotes count (a doubled quote inside a quoted field toggles twice).
type recordCounter struct {
	format   string
	newlines int64
	inQuote  bool
}

func (c *recordCounter) scan(p []byte) {
	if c.format != "csv" {
		c.newlines += int64(bytes.Count(p, []byte{'\n'}))
		return
	}
	for len(p) > 0 {
		if c.inQuote {
			i := bytes.IndexByte(p, '"')
			if i < 0 {
				return
			}
			c.inQuote, p = false, p[i+1:]
			continue
		}
		i := bytes.IndexAny(p, "\"\n")
		if i < 0 {
			return
		}
		if p[i] == '"' {
			c.inQuote = true
		} else {
			c.newlines++
		}
		p = p[i+1:]
	}
}

// rows returns how many of the encoded rows were written completely.
func (c *recordCounter) rows(encoded int64, header bool) int64 {
	n := c.newlines
	switch c.format {
	case "csv", "tsv":
		if header {
			n--
		}
	case "json":
		n-- // "[" is followed by a line break before each row, the last one's after End
	}
	return max(0, min(n, encoded))
}
