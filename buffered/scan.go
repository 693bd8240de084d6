package buffered

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgtype"
)

// DecodeError reports a value that could not be decoded or scanned into the
// requested Go type.
type DecodeError struct {
	Column string // the column's name
	Type   string // the column's PostgreSQL type name (or OID)
	Target string // the Go type or struct field asked for; empty for generic decoding
	Err    error
}

func (e *DecodeError) Error() string {
	if e.Target == "" {
		return fmt.Sprintf("decode column %q (%s): %v", e.Column, e.Type, e.Err)
	}
	return fmt.Sprintf("scan column %q (%s) into %s: %v", e.Column, e.Type, e.Target, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

func decodeError(c *columns, j int, err error) error {
	return &DecodeError{Column: c.names[j], Type: c.typeName(j), Err: err}
}

func (c *columns) typeName(j int) string {
	if n := c.list[j].TypeName; n != "" {
		return n
	}
	return fmt.Sprintf("oid %d", c.list[j].TypeOID)
}

// scanner scans one column's raw values into targets of one Go type, with a
// scan plan made on first use and kept (as pgx's Rows.Scan does).
type scanner struct {
	cols   *columns
	col    int
	target string
	plan   pgtype.ScanPlan
}

// prepare makes the plan now, for targets of dst's type, so that scan
// never writes to s: a shared description's scanners are used by many
// goroutines at once.
func (s *scanner) prepare(dst any) {
	f := &s.cols.fields[s.col]
	s.plan = s.cols.m.PlanScan(f.DataTypeOID, f.Format, dst)
}

func (s *scanner) scan(src []byte, dst any) error {
	if s.plan == nil {
		f := &s.cols.fields[s.col]
		s.plan = s.cols.m.PlanScan(f.DataTypeOID, f.Format, dst)
	}
	if err := s.plan.Scan(src, dst); err != nil {
		return &DecodeError{Column: s.cols.names[s.col], Type: s.cols.typeName(s.col), Target: s.target, Err: err}
	}
	return nil
}
