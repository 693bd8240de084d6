// Package columnar writes a query's rows as a Parquet file or an Arrow IPC
// stream, with the column types kept: integers, floats, exact decimals,
// timestamps, UUIDs, JSON, enums, arrays and composite types become their
// Parquet/Arrow counterparts instead of text.
//
// The schema comes from the result's row description (and, for types that
// are not built in, from the catalog through LoadTypes), so the caller does
// not declare it. Rows are gathered into Arrow record batches of at most
// Options.RowGroupRows rows and Options.RowGroupBytes bytes of wire values;
// each batch becomes one Parquet row group or one Arrow record batch and is
// written out before the next one is gathered, so memory is bounded by the
// batch size whatever the row count.
//
// Typical use with a stream:
//
//	types, err := columnar.LoadTypes(ctx, pool, fields) // only when non-built-in types may appear
//	res, err := sess.Stream(ctx, sql, columnar.ResultFormats(fields, types)) // or any stream.Result / buffered.Result
//	n, err := columnar.Write(out, columnar.Parquet, res, columnar.Options{Types: types})
//
// The input values are the raw wire values of each column (buffered.Raw),
// in binary or text format as the column was sent. ResultFormats picks, per
// column, the format that maps exactly; with pgx's defaults every built-in
// scalar type maps as well. The type mapping is the table in README.md
// ("Columnar output"). Values are gathered in Arrow arrays (apache/arrow-go);
// the Arrow stream is arrow-go's IPC writer, the Parquet file is written by
// parquet-go from those arrays (arrow-go's own Parquet writer links a
// compute engine and gRPC that add about 15 MB to every streamcat
// process, whatever its format).
//
// Errors this package makes read "columnar: ..."; a value that cannot be
// written (an infinite timestamp, a NaN in a DECIMAL column, a
// multi-dimensional array) is a *ValueError naming the column and the row.
package columnar
