// Package verify reads the Parquet files package columnar writes with
// parquet-go, an implementation independent of the arrow-go that writes
// them, and compares every value with what pgx decodes from the same
// query. It is a nested module so parquet-go stays out of streamcat's
// dependencies; make test runs it.
package verify
