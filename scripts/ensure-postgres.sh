#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries (initdb, postgres) are installed, as
# localpg looks for them. When they are missing and we are root on Debian or
# Ubuntu, installs Debian's postgresql package; otherwise says what to do.
set -euo pipefail

have_server() {
  local d
  for d in "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")" \
           "$(pg_config --bindir 2>/dev/null || true)" \
           /usr/lib/postgresql/*/bin; do
    [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && return 0
  done
  return 1
}

if have_server; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-postgres: PostgreSQL server binaries not found; installing Debian's postgresql package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  have_server && exit 0
fi
echo "ensure-postgres: PostgreSQL server binaries (initdb, postgres) not found." >&2
echo "  Debian/Ubuntu: apt-get install postgresql    macOS: brew install postgresql" >&2
echo "  or point the tests at a server: STREAMCAT_TEST_DSN=postgres://..." >&2
exit 1
