package buffered_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/streamcat/streamcat/buffered"
)

// A RowView reads any Source (package stream feeds it from a channel): these
// tests drive one with hand-made blocks, for the paths a server cannot
// produce on demand (malformed values, a source failing between blocks).

// fakeSource hands out prepared blocks, then fails with err (if set).
type fakeSource struct {
	blocks []*buffered.Block
	err    error
	closed int
}

func (s *fakeSource) Next() (*buffered.Block, error) {
	if len(s.blocks) > 0 {
		b := s.blocks[0]
		s.blocks = s.blocks[1:]
		return b, nil
	}
	return nil, s.err
}

func (s *fakeSource) Close() { s.closed++ }

func TestRowView_MalformedWireValueIsDecodeErrorNamingTheColumn(t *testing.T) {
	b := buffered.NewBlock(1, 2, 16)
	b.AppendRow([][]byte{{0, 0, 0, 7}})
	b.AppendRow([][]byte{{1, 2, 3}}) // three bytes cannot be an int4
	src := &fakeSource{blocks: []*buffered.Block{b}}
	fields := []pgconn.FieldDescription{{Name: "n", DataTypeOID: 23, Format: 1}}
	cur := buffered.NewRowView(fields, nil, src, buffered.ViewOptions{})

	row, ok := cur.FetchOne()
	require.True(t, ok)
	assert.Equal(t, []any{int32(7)}, row.Values())
	_, ok = cur.FetchOne()
	assert.False(t, ok)
	var de *buffered.DecodeError
	require.ErrorAs(t, cur.Err(), &de)
	assert.Equal(t, "n", de.Column)
	assert.Equal(t, "int4", de.Type)
	assert.Empty(t, de.Target, "generic decoding has no Go target")
	assert.Contains(t, cur.Err().Error(), `decode column "n" (int4)`)
	assert.Equal(t, 1, src.closed, "a failure releases the source once")
	_, err := cur.First()
	assert.ErrorAs(t, err, &de, "the failure is sticky")
	assert.Equal(t, 1, src.closed)
}

func TestRowView_SourceErrorArrivesAfterTheRowsBeforeIt(t *testing.T) {
	b := buffered.NewBlock(1, 2, 16)
	b.AppendRow([][]byte{[]byte("a")})
	b.AppendRow([][]byte{nil})
	boom := errors.New("boom")
	src := &fakeSource{blocks: []*buffered.Block{b}, err: boom}
	fields := []pgconn.FieldDescription{{Name: "s", DataTypeOID: 25, Format: 0}}
	cur := buffered.NewRowView(fields, nil, src, buffered.ViewOptions{})

	var got []any
	var errs []error
	for row, err := range cur.Rows() {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, row.At(0))
	}
	assert.Equal(t, []any{"a", nil}, got)
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], boom)
	assert.ErrorIs(t, cur.Err(), boom)
	assert.Nil(t, cur.All())
	assert.Equal(t, 1, src.closed)
	cur.Close()
	assert.Equal(t, 1, src.closed, "Close after a failure does not release twice")
}

func TestRowView_CloseOnBreakClosesWhenALoopEndsEarly(t *testing.T) {
	b := buffered.NewBlock(1, 3, 16)
	for _, v := range []string{"a", "b", "c"} {
		b.AppendRow([][]byte{[]byte(v)})
	}
	src := &fakeSource{blocks: []*buffered.Block{b}}
	fields := []pgconn.FieldDescription{{Name: "s", DataTypeOID: 25, Format: 0}}
	cur := buffered.NewRowView(fields, nil, src, buffered.ViewOptions{CloseOnBreak: true})
	for range cur.Rows() {
		break
	}
	assert.True(t, cur.Closed(), "a stream-like result closes on break")
	assert.Equal(t, 1, src.closed)
	_, err := cur.First()
	assert.ErrorIs(t, err, buffered.ErrClosed)
}

func TestBlock_HoldsRawValuesNullDistinctFromEmpty(t *testing.T) {
	b := buffered.NewBlock(2, 1, 0)
	b.AppendRow([][]byte{[]byte("ab"), nil})
	b.AppendRow([][]byte{{}, []byte("c")})
	assert.Equal(t, 2, b.Len())
	assert.Equal(t, 3, b.Bytes())
	assert.Equal(t, []byte("ab"), b.Value(0, 0))
	assert.Nil(t, b.Value(0, 1), "NULL")
	empty := b.Value(1, 0)
	assert.NotNil(t, empty, "empty is not NULL")
	assert.Empty(t, empty)
	assert.Equal(t, []byte("c"), b.Value(1, 1))

	src := []byte("xy")
	b.AppendRow([][]byte{src, src})
	src[0] = 'z'
	assert.Equal(t, []byte("xy"), b.Value(2, 0), "AppendRow copies")

	v := b.Value(0, 0)
	assert.Equal(t, 2, cap(v), "a value cannot be appended into its neighbour")

	b.Reset()
	assert.Equal(t, 0, b.Len())
	assert.Equal(t, 0, b.Bytes())
	b.AppendRow([][]byte{[]byte("q"), nil})
	assert.Equal(t, []byte("q"), b.Value(0, 0))
}

func TestRowView_UnknownBinaryTypeDecodesToACopyOfTheBytes(t *testing.T) {
	b := buffered.NewBlock(2, 1, 8)
	b.AppendRow([][]byte{{1, 2}, []byte("t")})
	fields := []pgconn.FieldDescription{
		{Name: "bin", DataTypeOID: 999999, Format: 1},
		{Name: "txt", DataTypeOID: 999998, Format: 0},
	}
	cur := buffered.NewRowView(fields, nil, &fakeSource{blocks: []*buffered.Block{b}}, buffered.ViewOptions{})
	assert.Equal(t, "", cur.ColumnTypes()[0].TypeName)
	row, err := cur.One()
	require.NoError(t, err)
	assert.Equal(t, []any{[]byte{1, 2}, "t"}, row.Values())
	row.Values()[0].([]byte)[0] = 9
	assert.Equal(t, []byte{1, 2}, b.Value(0, 0), "the decoded bytes are a copy")
}

func TestRowView_Mappings_MalformedValueIsDecodeError(t *testing.T) {
	b := buffered.NewBlock(1, 1, 8)
	b.AppendRow([][]byte{{1}})
	fields := []pgconn.FieldDescription{{Name: "n", DataTypeOID: 20, Format: 1}}
	cur := buffered.NewRowView(fields, nil, &fakeSource{blocks: []*buffered.Block{b}}, buffered.ViewOptions{})
	_, err := cur.Mappings().First()
	var de *buffered.DecodeError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "int8", de.Type)
}

func TestRowView_Freeze_SourceErrorFailsTheFreeze(t *testing.T) {
	b := buffered.NewBlock(1, 1, 8)
	b.AppendRow([][]byte{[]byte("a")})
	boom := errors.New("boom")
	src := &fakeSource{blocks: []*buffered.Block{b}, err: boom}
	fields := []pgconn.FieldDescription{{Name: "s", DataTypeOID: 25, Format: 0}}
	cur := buffered.NewRowView(fields, nil, src, buffered.ViewOptions{})
	f, err := cur.Freeze()
	assert.Nil(t, f)
	require.ErrorIs(t, err, boom)
	assert.ErrorIs(t, cur.Err(), boom)
	assert.Equal(t, 1, src.closed)
}

func TestRowView_ReleasesTheSourceOnceWhenExhausted(t *testing.T) {
	b := buffered.NewBlock(1, 1, 8)
	b.AppendRow([][]byte{[]byte("a")})
	src := &fakeSource{blocks: []*buffered.Block{buffered.NewBlock(1, 0, 0), b}} // an empty block is skipped by readers
	fields := []pgconn.FieldDescription{{Name: "s", DataTypeOID: 25, Format: 0}}
	cur := buffered.NewRowView(fields, nil, src, buffered.ViewOptions{})
	assert.Equal(t, []any{"a"}, cur.Scalars().All())
	assert.Equal(t, 1, src.closed)
	cur.All()
	cur.Close()
	assert.Equal(t, 1, src.closed, "exhaustion released it; Close does not release again")
}

func TestRowView_CloseOnBreakClosesWhenAPartitionsLoopEndsEarly(t *testing.T) {
	b := buffered.NewBlock(1, 3, 16)
	for _, v := range []string{"a", "b", "c"} {
		b.AppendRow([][]byte{[]byte(v)})
	}
	src := &fakeSource{blocks: []*buffered.Block{b}}
	fields := []pgconn.FieldDescription{{Name: "s", DataTypeOID: 25, Format: 0}}
	cur := buffered.NewRowView(fields, nil, src, buffered.ViewOptions{CloseOnBreak: true})
	for chunk, err := range cur.Scalars().Partitions(2) {
		require.NoError(t, err)
		assert.Equal(t, []any{"a", "b"}, chunk)
		break
	}
	assert.True(t, cur.Closed())
	assert.Equal(t, 1, src.closed)
	assert.Nil(t, cur.All())
	assert.ErrorIs(t, cur.Err(), buffered.ErrClosed)
}

func TestRowView_CloseOnBreakDoesNotCloseALoopRunToTheEnd(t *testing.T) {
	b := buffered.NewBlock(1, 1, 16)
	b.AppendRow([][]byte{[]byte("a")})
	src := &fakeSource{blocks: []*buffered.Block{b}}
	fields := []pgconn.FieldDescription{{Name: "s", DataTypeOID: 25, Format: 0}}
	cur := buffered.NewRowView(fields, nil, src, buffered.ViewOptions{CloseOnBreak: true})
	for _, err := range cur.Rows() {
		require.NoError(t, err)
	}
	assert.False(t, cur.Closed(), "exhausted, not closed")
	assert.Empty(t, cur.All())
	assert.NoError(t, cur.Err())
}
