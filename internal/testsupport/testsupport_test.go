package testsupport

import (
	"strings"
	"testing"
)

func TestEnvRows(t *testing.T) {
	t.Setenv("TS_ROWS", "1_000")
	if n, err := EnvRows("TS_ROWS", 5); err != nil || n != 1000 {
		t.Errorf("1_000: got %d, %v", n, err)
	}
	if n, err := EnvRows("TS_UNSET", 5); err != nil || n != 5 {
		t.Errorf("unset: got %d, %v", n, err)
	}
	t.Setenv("TS_ROWS", "-3")
	if _, err := EnvRows("TS_ROWS", 5); err == nil || !strings.Contains(err.Error(), `TS_ROWS="-3"`) {
		t.Errorf("-3: got %v, want an error naming the variable and value", err)
	}
}

func TestGenerate(t *testing.T) {
	if got := Generate(NarrowSQL, 7); !strings.HasSuffix(got, "generate_series(1,7) g") {
		t.Errorf("got %q", got)
	}
}
