package session_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/session"
)

// Issue 14 item 9: no error about a connection string shows its password.
func TestPoolConfig_ErrorsNeverShowThePassword(t *testing.T) {
	for _, dsn := range []string{
		"host=h port=x password = s3cret", // spaced: pgx's own redaction misses it
		"host=h port=x password=s3cret",
		"host=h port=x password =s3cret",
		"host=h port=x password= 's3cret and more'",
		"host=h port=x PASSWORD=s3cret",
		"host=h port=x sslpassword = s3cret",
		"password = s3cret host=h port=x",
		"postgres://u:s3cret@h:x/db",
		"postgres://u:s3%40cret@h:x/db",
		"postgresql://u:s3cret@h/db?port=x",
		"postgres://u@h:x/db?password=s3cret",
		"postgres://u@h/db?sslmode=disable&password=s3cret&port=x",
		"host=h port=5432 password = s3cret pool_max_conns=many",
	} {
		t.Run(dsn, func(t *testing.T) {
			_, err := session.PoolConfig(dsn)
			require.Error(t, err)
			require.ErrorIs(t, err, session.ErrConnString)
			assert.NotContains(t, err.Error(), "s3cret")
			assert.NotContains(t, err.Error(), "s3%40cret")
			assert.NotContains(t, err.Error(), "s3@cret")
			assert.Contains(t, err.Error(), "xxxxx", "the masked string is still shown, to say which one was wrong")

			_, err = session.NewPool(context.Background(), dsn)
			require.ErrorIs(t, err, session.ErrConnString)
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
}

func TestPoolConfig_ErrorNamesWhatIsWrong(t *testing.T) {
	_, err := session.PoolConfig("host=h port=x password = s3cret")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "port", "the reason is kept: %v", err)
	assert.Contains(t, err.Error(), "host=h port=x password = xxxxx")
}

func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"host=h password = s3cret user=u":          "host=h password = xxxxx user=u",
		`host=h password='a b\' c' user=u`:         "host=h password=xxxxx user=u",
		"postgres://u:s3cret@h:5432/db":            "postgres://u:xxxxx@h:5432/db",
		"postgres://u@h/db?password=s3cret&x=1":    "postgres://u@h/db?password=xxxxx&x=1",
		"postgres://u:p@ss@h/db":                   "postgres://u:xxxxx@h/db",
		"host=h user=u":                            "host=h user=u",
		"postgres://u@h/db":                        "postgres://u@h/db",
		"host=h sslpassword=k password=p dbname=d": "host=h sslpassword=xxxxx password=xxxxx dbname=d",
	} {
		assert.Equal(t, want, session.RedactDSN(in), in)
	}
}
