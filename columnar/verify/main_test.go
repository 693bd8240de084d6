package verify

import (
	"testing"

	"github.com/streamcat/streamcat/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }
