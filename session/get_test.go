package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
	"github.com/streamcat/streamcat/internal/testdb"
	"github.com/streamcat/streamcat/session"
)

// sqlRecorder is a Router that remembers the SQL of every statement it
// places: the text Get sends.
type sqlRecorder struct {
	pool *pgxpool.Pool
	mu   sync.Mutex
	sql  []string
}

func (r *sqlRecorder) Acquire(ctx context.Context, stmt session.Statement) (*pgxpool.Conn, error) {
	r.mu.Lock()
	r.sql = append(r.sql, stmt.SQL)
	r.mu.Unlock()
	return r.pool.Acquire(ctx)
}

func (r *sqlRecorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sql) == 0 {
		return ""
	}
	return r.sql[len(r.sql)-1]
}

// getFixture runs setup on a fresh pool, undoes it with teardown after the
// test, and returns a session whose statements are recorded.
func getFixture(t *testing.T, setup, teardown string) (*session.Session, *sqlRecorder) {
	t.Helper()
	pool := testdb.Pool(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, setup)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), teardown)
		require.NoError(t, err)
	})
	rec := &sqlRecorder{pool: pool}
	s := session.NewMaker(pool, session.WithRouter(rec)).New()
	t.Cleanup(func() { require.NoError(t, s.Close(context.Background())) })
	return s, rec
}

type getUser struct {
	_     struct{} `table:"get_users"`
	ID    int64    `db:"id,pk"`
	Name  string   `db:"name"`
	Email *string  `db:"email"`
}

func TestGet_SingleKey(t *testing.T) {
	s, rec := getFixture(t, `
		create table get_users (id int8 primary key, name text not null, email text);
		insert into get_users values (1, 'ada', 'ada@example.com'), (2, 'bob', null)`,
		"drop table get_users")
	ctx := context.Background()

	u, err := session.Get[getUser](ctx, s, 1)
	require.NoError(t, err)
	require.NotNil(t, u)
	assert.Equal(t, int64(1), u.ID)
	assert.Equal(t, "ada", u.Name)
	require.NotNil(t, u.Email)
	assert.Equal(t, "ada@example.com", *u.Email)
	assert.Equal(t, `select "id", "name", "email" from "get_users" where "id" = $1`, rec.last())

	u, err = session.GetOne[getUser](ctx, s, int64(2))
	require.NoError(t, err)
	assert.Equal(t, getUser{ID: 2, Name: "bob"}, *u)
}

func TestGet_NotFound(t *testing.T) {
	s, _ := getFixture(t, "create table get_users (id int8 primary key, name text not null, email text)",
		"drop table get_users")
	ctx := context.Background()

	u, err := session.Get[getUser](ctx, s, 42)
	require.NoError(t, err, "Get: not found is no error")
	assert.Nil(t, u)

	_, err = session.GetOne[getUser](ctx, s, 42)
	require.ErrorIs(t, err, buffered.ErrNoRows)
	assert.Contains(t, err.Error(), "no row was found when one was required")
	assert.Contains(t, err.Error(), `"get_users"`)
	assert.Contains(t, err.Error(), "(id)")
}

type getMembership struct {
	_      struct{} `table:"get_memberships"`
	OrgID  int32    `db:"org_id,pk"`
	UserID int32    `db:"user_id,pk"`
	Role   string   `db:"role"`
}

func TestGet_CompositeKeyInFieldOrder(t *testing.T) {
	s, rec := getFixture(t, `
		create table get_memberships (user_id int4, org_id int4, role text not null, primary key (user_id, org_id));
		insert into get_memberships values (1, 2, 'admin'), (2, 1, 'viewer')`,
		"drop table get_memberships")
	ctx := context.Background()

	m, err := session.GetOne[getMembership](ctx, s, 1, 2)
	require.NoError(t, err)
	assert.Equal(t, getMembership{OrgID: 1, UserID: 2, Role: "viewer"}, *m, "keys go in field order: org_id, then user_id")
	assert.Equal(t, `select "org_id", "user_id", "role" from "get_memberships" where "org_id" = $1 and "user_id" = $2`, rec.last())

	m, err = session.GetOne[getMembership](ctx, s, 2, 1)
	require.NoError(t, err)
	assert.Equal(t, "admin", m.Role)

	none, err := session.Get[getMembership](ctx, s, 1, 1)
	require.NoError(t, err)
	assert.Nil(t, none)
}

func TestGet_WrongNumberOfKeyValues(t *testing.T) {
	s, rec := getFixture(t, "select 1", "select 1")
	ctx := context.Background()
	for _, key := range [][]any{{1}, {1, 2, 3}, nil} {
		_, err := session.Get[getMembership](ctx, s, key...)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "(org_id, user_id)", "the message names the key columns")
		assert.Contains(t, err.Error(), "want 2")
		_, err = session.GetOne[getMembership](ctx, s, key...)
		require.Error(t, err)
		assert.NotErrorIs(t, err, buffered.ErrNoRows)
	}
	assert.Empty(t, rec.sql, "nothing was sent")
}

type getItem struct {
	_     struct{} `table:"get_app.items"`
	SKU   string   `db:"sku,pk"`
	Price int32    `db:"price"`
}

type getItemElsewhere struct {
	SKU   string `db:"sku"`
	Price int32  `db:"price"`
}

func (getItemElsewhere) TableName() string    { return "get_app.items" }
func (getItemElsewhere) PrimaryKey() []string { return []string{"sku"} }

func TestGet_SchemaQualifiedTable(t *testing.T) {
	s, rec := getFixture(t, `
		create schema get_app;
		create table get_app.items (sku text primary key, price int4 not null);
		create table public.items (sku text primary key, price int4 not null);
		insert into get_app.items values ('a-1', 100);
		insert into public.items values ('a-1', 999)`,
		"drop schema get_app cascade; drop table public.items")
	ctx := context.Background()

	it, err := session.GetOne[getItem](ctx, s, "a-1")
	require.NoError(t, err)
	assert.Equal(t, int32(100), it.Price, "read from get_app.items, not public.items")
	assert.Equal(t, `select "sku", "price" from "get_app"."items" where "sku" = $1`, rec.last())

	it2, err := session.GetOne[getItemElsewhere](ctx, s, "a-1")
	require.NoError(t, err)
	assert.Equal(t, int32(100), it2.Price)
}

// A table and columns that only exist quoted, named by methods.
type getOrderItem struct {
	OrderID int32  `db:"Order ID"`
	Line    int32  `db:"Line"`
	Product string `db:"Product Name"`
}

func (getOrderItem) TableName() string    { return "Order Items" }
func (getOrderItem) PrimaryKey() []string { return []string{"Order ID", "Line"} }

func TestGet_NamesNeedingQuotes(t *testing.T) {
	s, rec := getFixture(t, `
		create table "Order Items" ("Order ID" int4, "Line" int4, "Product Name" text not null, primary key ("Order ID", "Line"));
		insert into "Order Items" values (7, 1, 'tea'), (7, 2, 'cake')`,
		`drop table "Order Items"`)
	ctx := context.Background()

	it, err := session.GetOne[getOrderItem](ctx, s, 7, 2)
	require.NoError(t, err)
	assert.Equal(t, getOrderItem{OrderID: 7, Line: 2, Product: "cake"}, *it)
	assert.Equal(t, `select "Order ID", "Line", "Product Name" from "Order Items" where "Order ID" = $1 and "Line" = $2`, rec.last())
}

// The table and untagged columns named after the Go names, snake_cased;
// the key from the methods overrides the tags.
type GetUserAccount struct {
	AccountID   int64 `db:"account_id,pk"`
	DisplayName string
	HTTPStatus  int32
	Skipped     string `db:"-"`
	hidden      int
}

func TestGet_NamesFromGoNames(t *testing.T) {
	s, rec := getFixture(t, `
		create table get_user_account (account_id int8 primary key, display_name text not null, http_status int4 not null);
		insert into get_user_account values (5, 'Ada L.', 200)`,
		"drop table get_user_account")
	ctx := context.Background()

	a, err := session.GetOne[GetUserAccount](ctx, s, 5)
	require.NoError(t, err)
	assert.Equal(t, GetUserAccount{AccountID: 5, DisplayName: "Ada L.", HTTPStatus: 200}, *a)
	assert.Equal(t, `select "account_id", "display_name", "http_status" from "get_user_account" where "account_id" = $1`, rec.last())
	_ = a.hidden
}

type getBase struct {
	ID int64 `db:"id,pk"`
}

type getWithEmbedded struct {
	_ struct{} `table:"get_users"`
	getBase
	Name string `db:"name"`
}

func TestGet_EmbeddedKey(t *testing.T) {
	s, rec := getFixture(t, `
		create table get_users (id int8 primary key, name text not null, email text);
		insert into get_users values (3, 'cy', null)`,
		"drop table get_users")
	u, err := session.GetOne[getWithEmbedded](context.Background(), s, 3)
	require.NoError(t, err)
	assert.Equal(t, int64(3), u.ID)
	assert.Equal(t, "cy", u.Name)
	assert.Equal(t, `select "id", "name" from "get_users" where "id" = $1`, rec.last())
}

type getToken struct {
	_    struct{} `table:"get_tokens"`
	Code string   `db:"code,pk"`
	Note string   `db:"note"`
}

func TestGet_KeyValuesAreBoundNotSpliced(t *testing.T) {
	const nasty = `x' or '1'='1'; drop table get_tokens; --`
	s, _ := getFixture(t, `
		create table get_tokens (code text primary key, note text not null);
		insert into get_tokens values ('plain', 'a'), ($$`+nasty+`$$, 'b')`,
		"drop table if exists get_tokens")
	ctx := context.Background()

	none, err := session.Get[getToken](ctx, s, `x' or '1'='1`)
	require.NoError(t, err)
	assert.Nil(t, none, "the value matched no key: it was not read as SQL")

	tok, err := session.GetOne[getToken](ctx, s, nasty)
	require.NoError(t, err)
	assert.Equal(t, getToken{Code: nasty, Note: "b"}, *tok, "the value is compared as it is")

	n, err := s.Scalar(ctx, "select count(*) from get_tokens")
	require.NoError(t, err)
	assert.Equal(t, int64(2), n, "the table is still there")
}

type getNoKey struct {
	_    struct{} `table:"get_users"`
	ID   int64    `db:"id"`
	Name string   `db:"name"`
}

type getDupColumn struct {
	ID    int64 `db:"id,pk"`
	Other int64 `db:"id"`
}

type getEmptyTag struct {
	ID int64 `db:",pk"`
}

type getBadTable struct {
	ID int64 `db:"id,pk"`
}

func (getBadTable) TableName() string { return "app..users" }

func TestGet_TypesThatCannotBeRead(t *testing.T) {
	s, rec := getFixture(t, "select 1", "select 1")
	ctx := context.Background()

	_, err := session.Get[getNoKey](ctx, s, 1)
	require.ErrorIs(t, err, session.ErrNoPrimaryKey)
	assert.Contains(t, err.Error(), "getNoKey")
	_, err = session.GetOne[getNoKey](ctx, s, 1)
	require.ErrorIs(t, err, session.ErrNoPrimaryKey)

	_, err = session.Get[int](ctx, s, 1)
	assert.ErrorContains(t, err, "not a struct")

	_, err = session.Get[struct {
		ID int64 `db:"id,pk"`
	}](ctx, s, 1)
	assert.ErrorContains(t, err, "table")

	_, err = session.Get[getDupColumn](ctx, s, 1)
	assert.ErrorContains(t, err, `column "id"`)

	_, err = session.Get[getEmptyTag](ctx, s, 1)
	assert.ErrorContains(t, err, "without a column name")

	_, err = session.Get[getBadTable](ctx, s, 1)
	assert.ErrorContains(t, err, "empty part")

	assert.Empty(t, rec.sql, "nothing was sent")
}

func TestGet_InsideTransactionSeesItsWrites(t *testing.T) {
	s, rec := getFixture(t, "create table get_users (id int8 primary key, name text not null, email text)",
		"drop table get_users")
	ctx := context.Background()
	_, err := s.Begin(ctx)
	require.NoError(t, err)
	_, err = s.Execute(ctx, "insert into get_users values (9, 'uncommitted', null)")
	require.NoError(t, err)
	before := len(rec.sql)

	u, err := session.GetOne[getUser](ctx, s, 9)
	require.NoError(t, err)
	assert.Equal(t, "uncommitted", u.Name)
	assert.Len(t, rec.sql, before, "inside a transaction Get runs on it, not through the router")
	require.NoError(t, s.Rollback(ctx))

	none, err := session.Get[getUser](ctx, s, 9)
	require.NoError(t, err)
	assert.Nil(t, none)
}

func TestGet_ServerErrorsAreWrapped(t *testing.T) {
	s, _ := getFixture(t, "select 1", "select 1")
	_, err := session.Get[getUser](context.Background(), s, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "get_users", "the table does not exist")
	assert.False(t, errors.Is(err, buffered.ErrNoRows))
}

func TestGet_ConcurrentPlanning(t *testing.T) {
	type getFresh struct {
		_  struct{} `table:"nowhere"`
		ID int64    `db:"id,pk"`
	}
	// many goroutines planning one type at once share one plan; each has
	// its own session, since a session is not for concurrent use
	pool := testdb.Pool(t)
	m := session.NewMaker(pool)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			s := m.New()
			defer s.Close(context.Background())
			_, err := session.Get[getFresh](context.Background(), s, 1, 2)
			assert.ErrorContains(t, err, "want 1 key value")
		})
	}
	wg.Wait()
}
