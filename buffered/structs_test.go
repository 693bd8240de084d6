package buffered_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
)

const people = `select id, full_name, email, created_at, score from (values
	(1::int8, 'Ada Lovelace', 'ada@example.com', '2024-01-02 03:04:05+00'::timestamptz, 9.5::float8),
	(2, 'Alan Turing', null, '2024-06-07 08:09:10+00', null)
) t(id, full_name, email, created_at, score)`

func TestStructs_UnknownTagOptionIsAnError(t *testing.T) {
	pool := testdb.Pool(t)
	type person struct {
		ID    int64    `db:"id"`
		Score *float64 `db:"score,omitempty"` // not an option of this mapping: say so, do not ignore it
	}
	res := execute(t, pool, "select 1::int8 as id, 2.5::float8 as score")
	_, err := buffered.Structs[person](res).One()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "field Score")
	assert.Contains(t, err.Error(), `unknown `+"`db`"+` tag option "omitempty"`)
}

func TestStructs_DbTagsNameTheColumns(t *testing.T) {
	pool := testdb.Pool(t)
	type person struct {
		Key     int64     `db:"id"`
		Name    string    `db:"full_name"`
		Mail    *string   `db:"email"`
		Created time.Time `db:"created_at"`
		Score   *float64  `db:"score"`
	}
	res := execute(t, pool, people)
	got := buffered.Structs[person](res).All()
	require.NoError(t, res.Err())
	require.Len(t, got, 2)

	assert.Equal(t, int64(1), got[0].Key)
	assert.Equal(t, "Ada Lovelace", got[0].Name)
	require.NotNil(t, got[0].Mail)
	assert.Equal(t, "ada@example.com", *got[0].Mail)
	assert.True(t, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Equal(got[0].Created))
	require.NotNil(t, got[0].Score)
	assert.Equal(t, 9.5, *got[0].Score)

	assert.Equal(t, int64(2), got[1].Key)
	assert.Nil(t, got[1].Mail, "NULL into a pointer field")
	assert.Nil(t, got[1].Score)
}

func TestStructs_UntaggedFieldsMatchIgnoringCaseAndUnderscores(t *testing.T) {
	pool := testdb.Pool(t)
	type person struct {
		ID        int64
		FullName  string
		E_Mail    *string
		CreatedAt time.Time
		SCORE     pgtype.Float8
	}
	res := execute(t, pool, people)
	got := buffered.Structs[person](res).All()
	require.NoError(t, res.Err())
	require.Len(t, got, 2)
	assert.Equal(t, "Alan Turing", got[1].FullName)
	assert.Nil(t, got[1].E_Mail)
	assert.Equal(t, pgtype.Float8{Float64: 9.5, Valid: true}, got[0].SCORE)
	assert.Equal(t, pgtype.Float8{}, got[1].SCORE, "NULL into a pgtype value is not Valid")
}

func TestStructs_DashTagAndUnexportedFieldsAreSkipped(t *testing.T) {
	pool := testdb.Pool(t)
	type row struct {
		ID       int32
		Computed string `db:"-"`
		hidden   string
		Name     string
	}
	res := execute(t, pool, "select 1 as id, 'x' as name")
	got, err := buffered.Structs[row](res).One()
	require.NoError(t, err)
	assert.Equal(t, row{ID: 1, Name: "x"}, got)
	assert.Empty(t, got.hidden)
}

func TestStructs_TagMatchesExactlyBeforeCaseInsensitively(t *testing.T) {
	pool := testdb.Pool(t)
	type row struct {
		Lower int32 `db:"name"`
		Upper int32 `db:"Name"`
	}
	got, err := buffered.Structs[row](execute(t, pool, `select 1 as "Name", 2 as name`)).One()
	require.NoError(t, err)
	assert.Equal(t, row{Lower: 2, Upper: 1}, got)

	type loose struct {
		V int32 `db:"VALUE"`
	}
	l, err := buffered.Structs[loose](execute(t, pool, "select 3 as value")).One()
	require.NoError(t, err)
	assert.Equal(t, int32(3), l.V, "a tag also matches case-insensitively")
}

type audit struct {
	CreatedAt time.Time
	UpdatedBy *string `db:"updated_by"`
}

type base struct {
	ID int64
}

func TestStructs_EmbeddedStructsAreFlattened(t *testing.T) {
	pool := testdb.Pool(t)
	type doc struct {
		base
		Title string
		audit
	}
	res := execute(t, pool, `select 7 as id, 'Spec' as title, '2020-01-01 00:00:00+00'::timestamptz as created_at, 'bob' as updated_by`)
	got, err := buffered.Structs[doc](res).One()
	require.NoError(t, err)
	assert.Equal(t, int64(7), got.ID)
	assert.Equal(t, "Spec", got.Title)
	assert.True(t, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Equal(got.CreatedAt))
	require.NotNil(t, got.UpdatedBy)
	assert.Equal(t, "bob", *got.UpdatedBy)
}

func TestStructs_OfAColumnsProjection(t *testing.T) {
	pool := testdb.Pool(t)
	type nameOnly struct {
		FullName string
		ID       int64
	}
	res := execute(t, pool, people)
	got := buffered.Structs[nameOnly](res.Columns("full_name", "id")).All()
	require.NoError(t, res.Err())
	assert.Equal(t, []nameOnly{{"Ada Lovelace", 1}, {"Alan Turing", 2}}, got)
}

func TestStructs_SharesTheCursorAndUnique(t *testing.T) {
	pool := testdb.Pool(t)
	type vw struct {
		V int
		W string
	}
	res := execute(t, pool, dupRows)
	first, ok := buffered.Structs[vw](res).FetchOne()
	require.True(t, ok)
	assert.Equal(t, vw{1, "a"}, first)
	assert.Len(t, res.All(), 7, "the struct view's row is gone for the result")

	got := buffered.Structs[vw](execute(t, pool, dupRows).Unique()).All()
	assert.Equal(t, []vw{{1, "a"}, {2, "b"}, {3, "c"}, {4, "d"}, {1, "x"}}, got)
	got = buffered.Structs[vw](execute(t, pool, dupRows)).Unique().All()
	assert.Len(t, got, 5)
}

func TestStructs_ColumnWithoutFieldIsAnErrorNamingTheColumn(t *testing.T) {
	pool := testdb.Pool(t)
	type row struct {
		ID int32
	}
	res := execute(t, pool, "select 1 as id, 'x' as surprise")
	view := buffered.Structs[row](res)
	assert.Nil(t, view.All())
	err := view.Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"surprise"`)
	assert.Contains(t, err.Error(), "no field")
	_, err = view.First()
	assert.Contains(t, err.Error(), `"surprise"`)
}

func TestStructs_FieldWithoutColumnIsAnErrorNamingTheFieldAndColumns(t *testing.T) {
	pool := testdb.Pool(t)
	type row struct {
		ID      int32
		Missing string
	}
	res := execute(t, pool, "select 1 as id")
	view := buffered.Structs[row](res)
	_, err := view.One()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Missing")
	assert.Contains(t, err.Error(), "no column")
	assert.Contains(t, err.Error(), `"id"`)
	assert.Nil(t, view.All())
	assert.Equal(t, err.Error()[len("buffered: One: "):], view.Err().Error()[len("buffered: "):], "Err names the same mismatch")
}

func TestStructs_EmbeddedFieldWithoutColumnIsNamedWithItsPath(t *testing.T) {
	pool := testdb.Pool(t)
	type doc struct {
		Title string
		audit
	}
	err := buffered.Structs[doc](execute(t, pool, "select 'x' as title, 'bob' as updated_by")).Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "audit.CreatedAt")
}

func TestStructs_NonStructTypeIsAnError(t *testing.T) {
	pool := testdb.Pool(t)
	view := buffered.Structs[int](execute(t, pool, "select 1"))
	_, err := view.One()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "int is not a struct")
	assert.Nil(t, view.FetchMany(1))

	_, err = buffered.Structs[*struct{ ID int }](execute(t, pool, "select 1 as id")).One()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not a struct")
}

func TestStructs_NullIntoNonPointerFieldIsDecodeErrorNamingColumnAndField(t *testing.T) {
	pool := testdb.Pool(t)
	type person struct {
		ID       int64
		FullName string
		Email    string    // NULL for Alan
		Created  time.Time `db:"created_at"`
		Score    *float64
	}
	res := execute(t, pool, people)
	view := buffered.Structs[person](res)
	first, ok := view.FetchOne()
	require.True(t, ok)
	assert.Equal(t, "ada@example.com", first.Email)
	_, ok = view.FetchOne()
	assert.False(t, ok)
	var de *buffered.DecodeError
	require.ErrorAs(t, view.Err(), &de)
	assert.Equal(t, "email", de.Column)
	assert.Equal(t, "text", de.Type)
	assert.Contains(t, de.Target, "Email")
	assert.Contains(t, de.Target, "string")
}

func TestStructs_UnscannableTypeIsDecodeError(t *testing.T) {
	pool := testdb.Pool(t)
	type row struct {
		N []string
	}
	_, err := buffered.Structs[row](execute(t, pool, "select 1 as n")).One()
	var de *buffered.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "n", de.Column)
	assert.Contains(t, de.Target, "[]string")
}

func TestStructs_OfABadProjectionIsErrNoColumn(t *testing.T) {
	pool := testdb.Pool(t)
	type row struct{ ID int32 }
	view := buffered.Structs[row](execute(t, pool, "select 1 as id").Columns("idd"))
	_, err := view.One()
	require.ErrorIs(t, err, buffered.ErrNoColumn)
	assert.Contains(t, err.Error(), `"idd"`)
}

func TestStructs_OfAResultWithNoColumnsNamesTheMissingField(t *testing.T) {
	pool := testdb.Pool(t)
	type row struct{ ID int32 }
	err := buffered.Structs[row](execute(t, pool, "select from generate_series(1, 2)")).Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ID")
	assert.Contains(t, err.Error(), "no columns")

	type empty struct{}
	got := buffered.Structs[empty](execute(t, pool, "select from generate_series(1, 2)")).All()
	assert.Equal(t, []empty{{}, {}}, got, "no fields, no columns: one value per row")
}

func TestStructs_DuplicateColumnNamesAreAmbiguous(t *testing.T) {
	pool := testdb.Pool(t)
	type onlyX struct {
		X int32 `db:"x"`
	}
	res := execute(t, pool, "select 4 as x, 2 as x")
	_, err := buffered.Structs[onlyX](res).One()
	require.ErrorIs(t, err, buffered.ErrAmbiguousColumn)
	assert.Contains(t, err.Error(), "positions 0 and 1")
	assert.Contains(t, err.Error(), "field X")

	type twoOnOne struct {
		UserID int32 // user_id, by its name
		Other  int32 `db:"userid"`
	}
	res = execute(t, pool, "select 1 as userid")
	_, err = buffered.Structs[twoOnOne](res).One()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fields UserID and Other both match column \"userid\"")
}
