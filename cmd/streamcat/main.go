// Command streamcat runs one SQL query against PostgreSQL and streams its
// rows to stdout as CSV, TSV, JSON Lines or a JSON array, in constant
// memory. Run `streamcat --help` for flags, examples and exit codes.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
