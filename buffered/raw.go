package buffered

// Raw returns a view of from that yields each row's raw wire values, as
// pgx's Rows.RawValues: nil is SQL NULL, and the bytes are in the format the
// column was sent in (ask for text with pgx.QueryResultFormats to get
// PostgreSQL's text output). Read one row at a time (Rows, FetchOne),
// nothing is decoded or allocated: the slice and the bytes it points to are
// valid only until the next read, so copy what you keep. All, FetchMany
// and Partitions return copies. It is the fast path for encoders (package
// encode).
func Raw(from RowViewer) *View[[][]byte] {
	rv := from.AsRowView()
	v := derive[[][]byte](rv.View, rv.proj, nil)
	if v.bad != nil {
		return v
	}
	p := rv.proj
	buf := make([][]byte, len(p))
	v.conv = func(r rawRow, dst *[][]byte) error {
		for i, j := range p {
			buf[i] = r.value(j)
		}
		*dst = buf
		return nil
	}
	v.own = func(vals *[][]byte) {
		cp := make([][]byte, len(*vals))
		for i, b := range *vals {
			if b != nil {
				cp[i] = append(make([]byte, 0, len(b)), b...)
			}
		}
		*vals = cp
	}
	return v
}
