package encode_test

import (
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/streamcat/streamcat/encode"
)

// ExampleNew writes three rows as CSV, the way COPY ... WITH (FORMAT csv,
// HEADER) would: NULL is an empty field, the empty string is "".
//
// With pgx, the values come from a query run with text result format:
//
//	rows, _ := conn.Query(ctx, sql, pgx.QueryResultFormats{pgx.TextFormatCode})
//	enc.Begin(rows.FieldDescriptions())
//	for rows.Next() { enc.Row(rows.RawValues()) }
func ExampleNew() {
	enc, err := encode.New("csv", os.Stdout, encode.Options{Header: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fields := []pgconn.FieldDescription{
		{Name: "id", DataTypeOID: 23},
		{Name: "name", DataTypeOID: 25},
	}
	_ = enc.Begin(fields)
	_ = enc.Row([][]byte{[]byte("1"), []byte(`say "hi", then go`)})
	_ = enc.Row([][]byte{[]byte("2"), []byte("")})
	_ = enc.Row([][]byte{[]byte("3"), nil})
	if err := enc.End(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// id,name
	// 1,"say ""hi"", then go"
	// 2,""
	// 3,
}
