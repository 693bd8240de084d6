package main

import (
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/streamcat/streamcat/internal/testdb"
)

func TestHelpOnlyAlone(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-?"}} {
		r := runBin(t, nil, args...)
		wantOK(t, r)
		if !strings.HasPrefix(r.stdout, "Usage: streamcat") || r.stderr != "" {
			t.Errorf("%v: stdout %.40q, stderr %q", args, r.stdout, r.stderr)
		}
	}
	// With anything else, help is a usage error on stderr: stdout, which
	// may be a file, stays empty.
	for _, args := range [][]string{
		{"--help", "select 1"},
		{"--dsn", "postgres://x@127.0.0.1:1/db", "--help"},
		{"--version", "--format", "csv"},
	} {
		wantFail(t, runBin(t, nil, args...), 2, "take no other arguments")
	}
}

func TestVersion(t *testing.T) {
	for _, flag := range []string{"--version", "-V"} {
		r := runBin(t, nil, flag)
		wantOK(t, r)
		if !strings.HasPrefix(r.stdout, "streamcat ") || !strings.Contains(r.stdout, runtime.Version()) || !strings.Contains(r.stdout, "commit") {
			t.Errorf("%s: %q", flag, r.stdout)
		}
	}
}

// TestPsqlConnectionFlags: -h/-p/-U/-d as psql users type them connect,
// print rows (not the help text) and win over the connection string.
func TestPsqlConnectionFlags(t *testing.T) {
	u, err := url.Parse(testdb.DSN())
	if err != nil {
		t.Fatal(err)
	}
	q := "select current_user, current_database()"
	r := runBin(t, nil, "-h", u.Hostname(), "-p", u.Port(), "-U", "postgres", "-d", "postgres", q)
	wantOK(t, r)
	if r.stdout != "postgres,postgres\n" {
		t.Errorf("got %q", r.stdout)
	}
	r = runBin(t, nil, "--host="+u.Hostname(), "--port="+u.Port(), "--username=postgres", "--dbname=template1", q)
	wantOK(t, r)
	if r.stdout != "postgres,template1\n" {
		t.Errorf("long forms: got %q", r.stdout)
	}
	// the flags override the URL's database and port
	bad := *u
	bad.Host = u.Hostname() + ":1"
	r = runBin(t, nil, "--dsn", bad.String(), "-p", u.Port(), "-d", "template1", q)
	wantOK(t, r)
	if r.stdout != "postgres,template1\n" {
		t.Errorf("override URL: got %q", r.stdout)
	}
	// ... and a keyword/value string's
	r = runBin(t, nil, "--dsn", "host="+u.Hostname()+" port=1 user=postgres dbname=postgres sslmode=disable", "-p", u.Port(), "-d", "template1", q)
	wantOK(t, r)
	if r.stdout != "postgres,template1\n" {
		t.Errorf("override keyword/value: got %q", r.stdout)
	}
	// -d takes a whole connection string, as in psql
	r = runBin(t, nil, "-d", testdb.DSN(), q)
	wantOK(t, r)
	if r.stdout != "postgres,postgres\n" {
		t.Errorf("-d URL: got %q", r.stdout)
	}
}

// TestFlagMessages: messages use the flags' GNU spellings and say what a
// value should look like.
func TestFlagMessages(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--timeout", "5", "select 1"}, []string{"--timeout", "30s"}},
		{[]string{"--timeout=soon", "select 1"}, []string{"--timeout", "500ms"}},
		{[]string{"--limit", "ten", "select 1"}, []string{"--limit", "whole number"}},
		{[]string{"--bogus", "select 1"}, []string{"--bogus"}},
		{[]string{"-p", "41", "select $1::int"}, []string{"-p is the server port", "-v/--param"}},
		{[]string{"-p", "x", "select $1::int"}, []string{"-p/--port", "-v/--param"}},
		{[]string{"--format", "jsonl", "--header", "select 1"}, []string{"--header", "jsonl"}},
		{[]string{"--format", "jsonl", "--null", "x", "select 1"}, []string{"--null"}},
		{[]string{"--delimiter", `"`, "select 1"}, []string{"--delimiter"}},
	} {
		r := runBin(t, nil, tc.args...)
		wantFail(t, r, 2, tc.want[0])
		for _, w := range tc.want[1:] {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: %q lacks %q", tc.args, r.stderr, w)
			}
		}
		for _, internal := range []string{"encode:", "Header", "Delimiter", " -timeout", "time: "} {
			if strings.Contains(r.stderr, internal) {
				t.Errorf("%v: %q shows %q", tc.args, r.stderr, internal)
			}
		}
	}
}
