package main

import (
	"strings"
	"testing"

	"github.com/streamcat/streamcat/internal/testdb"
)

// TestLibpqEnvironment: the libpq variables psql honours and that change
// the text of values apply, so the output still equals psql's COPY under
// the same environment; application_name is streamcat unless set.
func TestLibpqEnvironment(t *testing.T) {
	dsn := testdb.DSN()
	for _, tc := range []struct {
		name  string
		env   []string
		query string
		want  string
	}{
		{"PGDATESTYLE", []string{"PGDATESTYLE=SQL, DMY"}, "select date '2024-01-02', timestamp '2024-01-02 03:04:05'", "02/01/2024,02/01/2024 03:04:05\n"},
		{"PGTZ", []string{"PGTZ=Asia/Tokyo"}, "select timestamptz '2024-01-02 00:00:00+00'", "2024-01-02 09:00:00+09\n"},
		{"PGOPTIONS", []string{"PGOPTIONS=-c extra_float_digits=-3"}, "select 0.1::float8 * 3", "0.3\n"},
		{"PGCLIENTENCODING", []string{"PGCLIENTENCODING=LATIN1"}, "select 'caf' || chr(233)", "caf\xe9\n"},
		// JSON is UTF-8 whatever the client encoding
		{"PGCLIENTENCODING jsonl", []string{"PGCLIENTENCODING=LATIN1"}, "select 'caf' || chr(233) as s", `{"s":"café"}` + "\n"},
		{"application_name default", nil, "select current_setting('application_name')", "streamcat\n"},
		{"PGAPPNAME", []string{"PGAPPNAME=nightly-export"}, "select current_setting('application_name')", "nightly-export\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--dsn", dsn, tc.query}
			if strings.HasSuffix(tc.name, "jsonl") {
				args = append(args, "--format", "jsonl")
			}
			r := runBinEnv(t, tc.env, args...)
			wantOK(t, r)
			if r.stdout != tc.want {
				t.Errorf("got %q, want %q", r.stdout, tc.want)
			}
		})
	}
	r := runBin(t, nil, "--dsn", dsn+"&application_name=from-dsn", "select current_setting('application_name')")
	wantOK(t, r)
	if strings.TrimSpace(r.stdout) != "from-dsn" {
		t.Errorf("application_name from the DSN: %q", r.stdout)
	}
}
