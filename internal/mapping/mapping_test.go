package mapping_test

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/internal/mapping"
)

type Base struct {
	ID        int64     `db:"id,pk,default"`
	CreatedAt time.Time `db:"created_at,default"`
}

type Parent struct {
	ID int64 `db:"id,pk"`
}

type Child struct {
	_ struct{} `table:"app.children"`
	Base
	ParentID int64  `db:"parent_id"`
	Label    string // untagged: snake_case
	HTTPCode int
	Total    int64   `db:"total,readonly"`
	Version  int32   `db:"version,version"`
	Parent   *Parent `ref:"parent_id"`
	Skipped  string  `db:"-"`
	private  int
}

func TestFor_ReadsColumnsOptionsTableKeyAndRefs(t *testing.T) {
	m := mapping.Of[Child]()
	require.NoError(t, m.Usable())
	var cols []string
	for _, f := range m.Fields {
		cols = append(cols, f.Column)
	}
	assert.Equal(t, []string{"id", "created_at", "parent_id", "label", "http_code", "total", "version"}, cols)
	assert.Equal(t, "Base.ID", m.Fields[0].Name, "embedded fields are flattened with their path")
	assert.True(t, m.Fields[0].PK && m.Fields[0].Default)
	assert.True(t, m.Fields[1].Default)
	assert.True(t, m.Fields[5].ReadOnly)
	assert.Equal(t, 6, m.Version)
	assert.Equal(t, `"app"."children"`, m.Quoted)
	assert.Equal(t, "(id)", m.KeyColumns())
	require.Len(t, m.Refs, 1)
	assert.Equal(t, reflect.TypeFor[Parent](), m.Refs[0].Target)
	assert.Equal(t, []int{2}, m.Refs[0].Columns)
	assert.Equal(t, 3, m.Field("label"))
	assert.Equal(t, -1, m.Field("skipped"))
	assert.Same(t, m, mapping.Of[Child](), "built once, cached")
}

type methods struct {
	Org  int32 `db:"org"`
	User int32 `db:"user"`
}

func (methods) TableName() string    { return "Mixed Case.tbl" }
func (methods) PrimaryKey() []string { return []string{"user", "org"} }

func TestFor_MethodsNameTableAndKeyOrder(t *testing.T) {
	m := mapping.Of[methods]()
	require.NoError(t, m.Usable())
	assert.Equal(t, `"Mixed Case"."tbl"`, m.Quoted)
	assert.Equal(t, "(user, org)", m.KeyColumns(), "PrimaryKey() gives the key order")
}

type noKey struct{ A int }
type badOption struct {
	A int `db:"a,pk,omitempty"`
}
type dup struct {
	A int `db:"x"`
	B int `db:"x"`
}
type emptyName struct {
	A int `db:",pk"`
}
type badVersion struct {
	ID int64  `db:"id,pk"`
	V  string `db:"v,version"`
}
type twoVersions struct {
	ID int64 `db:"id,pk"`
	A  int   `db:"a,version"`
	B  int   `db:"b,version"`
}
type badRef struct {
	ID int64 `db:"id,pk"`
	P  int   `ref:"id"`
}
type refUnknownColumn struct {
	ID int64   `db:"id,pk"`
	P  *Parent `ref:"parent_id"`
}
type badKeyMethod struct {
	ID int64 `db:"id"`
}

func (badKeyMethod) PrimaryKey() []string { return []string{"nope"} }

type badTable struct {
	ID int64 `db:"id,pk"`
}

func (badTable) TableName() string { return "a..b" }

func TestFor_ErrorsNameWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[int](), "not a struct"},
		{reflect.TypeFor[badOption](), `field A: unknown ` + "`db`" + ` tag option "omitempty"`},
		{reflect.TypeFor[dup](), `fields A and B both map column "x"`},
		{reflect.TypeFor[emptyName](), "field A has a `db` tag without a column name"},
		{reflect.TypeFor[badVersion](), "a version field must be a signed integer"},
		{reflect.TypeFor[twoVersions](), "fields A and B are both tagged version"},
		{reflect.TypeFor[badRef](), "a `ref` field must be a pointer to a mapped struct"},
		{reflect.TypeFor[refUnknownColumn](), `names column "parent_id", which no field maps`},
		{reflect.TypeFor[badKeyMethod](), `PrimaryKey() names column "nope"`},
		{reflect.TypeFor[badTable](), "empty part"},
		{reflect.TypeFor[struct{ ID int64 }](), "no table name"},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			err := mapping.For(tc.typ).Usable()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	err := mapping.Of[noKey]().Usable()
	assert.True(t, errors.Is(err, mapping.ErrNoPrimaryKey), "%v", err)
	assert.NoError(t, mapping.Of[noKey]().Err, "a type without a key still maps for reading")
}

func TestFor_ConcurrentFirstUseSharesOneType(t *testing.T) {
	type fresh struct {
		ID int64 `db:"id,pk"`
	}
	var wg sync.WaitGroup
	got := make([]*mapping.Type, 16)
	for i := range got {
		wg.Go(func() { got[i] = mapping.Of[fresh]() })
	}
	wg.Wait()
	for _, m := range got {
		assert.Same(t, got[0], m)
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"UserAccount": "user_account", "UserID": "user_id", "HTTPServer": "http_server",
		"ID": "id", "A1B": "a1_b", "already_snake": "already_snake",
	} {
		assert.Equal(t, want, mapping.SnakeCase(in), in)
	}
}
