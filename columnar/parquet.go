package columnar

import (
	"fmt"
	"io"
	"reflect"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	"github.com/parquet-go/parquet-go/encoding"
)

// parquetSink writes each Arrow batch as one Parquet row group with
// parquet-go: the batch is shredded into rows of leaf values with their
// repetition and definition levels, then flushed.
type parquetSink struct {
	w    *parquet.Writer
	cols []*pnode
	vals [][]parquet.Value // per leaf column, reused across batches
}

// pnode is a column of the Parquet schema, mirroring an Arrow field.
type pnode struct {
	kind   byte // 'v' leaf, 'g' group, 'l' list
	col    int  // leaf: its column index
	rep    int  // list: its repetition level
	fields []*pnode
	elem   *pnode
	leaves []int // every leaf column at or under the node
	value  func(a arrow.Array, i int) parquet.Value
}

func newParquetSink(w io.Writer, schema *arrow.Schema, opts Options) (*parquetSink, error) {
	s := &parquetSink{}
	next := 0
	root := make(orderedGroup, 0, len(schema.Fields()))
	names := map[string]bool{}
	for _, f := range schema.Fields() {
		if names[f.Name] {
			return nil, fmt.Errorf("two columns are named %q: Parquet columns need distinct names (alias one of them)", f.Name)
		}
		names[f.Name] = true
		n, node, err := s.node(f.Type, &next, 0)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		s.cols = append(s.cols, n)
		root = append(root, namedField{Node: parquet.Optional(node), name: f.Name})
	}
	var codec compress.Codec = &pageZstd{level: opts.compressionLevel()}
	switch opts.Compression {
	case CompressionNone:
		codec = &uncompressed.Codec{}
	case CompressionSnappy:
		codec = &snappy.Codec{}
	}
	s.w = parquet.NewWriter(w,
		parquet.NewSchema("schema", root),
		parquet.Compression(codec),
		parquet.CreatedBy("streamcat", "", ""),
		parquet.MaxRowsPerRowGroup(int64(opts.RowGroupRows)+1), // row groups end at flush
	)
	return s, nil
}

// node maps an Arrow type to a Parquet node (nullable values are wrapped
// in Optional by the caller) and the shredding plan of its leaves. rep is
// the repetition level of the enclosing lists.
func (s *parquetSink) node(t arrow.DataType, next *int, rep int) (*pnode, parquet.Node, error) {
	leaf := func(node parquet.Node, value func(a arrow.Array, i int) parquet.Value) (*pnode, parquet.Node, error) {
		n := &pnode{kind: 'v', col: *next, value: value}
		n.leaves = []int{*next}
		*next++
		return n, node, nil
	}
	switch t := t.(type) {
	case *arrow.Int16Type:
		return leaf(parquet.Int(16), func(a arrow.Array, i int) parquet.Value { return parquet.Int32Value(int32(a.(*array.Int16).Value(i))) })
	case *arrow.Int32Type:
		return leaf(parquet.Int(32), func(a arrow.Array, i int) parquet.Value { return parquet.Int32Value(a.(*array.Int32).Value(i)) })
	case *arrow.Int64Type:
		return leaf(parquet.Int(64), func(a arrow.Array, i int) parquet.Value { return parquet.Int64Value(a.(*array.Int64).Value(i)) })
	case *arrow.Uint32Type:
		return leaf(parquet.Uint(32), func(a arrow.Array, i int) parquet.Value { return parquet.Int32Value(int32(a.(*array.Uint32).Value(i))) })
	case *arrow.Float32Type:
		return leaf(parquet.Leaf(parquet.FloatType), func(a arrow.Array, i int) parquet.Value { return parquet.FloatValue(a.(*array.Float32).Value(i)) })
	case *arrow.Float64Type:
		return leaf(parquet.Leaf(parquet.DoubleType), func(a arrow.Array, i int) parquet.Value { return parquet.DoubleValue(a.(*array.Float64).Value(i)) })
	case *arrow.BooleanType:
		return leaf(parquet.Leaf(parquet.BooleanType), func(a arrow.Array, i int) parquet.Value { return parquet.BooleanValue(a.(*array.Boolean).Value(i)) })
	case *arrow.Decimal128Type:
		if t.Precision <= 18 {
			// INT64 holds 18 digits: smaller than 16 bytes, and what most
			// readers expect.
			return leaf(parquet.Decimal(int(t.Scale), int(t.Precision), parquet.Int64Type), func(a arrow.Array, i int) parquet.Value {
				return parquet.Int64Value(int64(a.(*array.Decimal128).Value(i).LowBits()))
			})
		}
		return leaf(parquet.Decimal(int(t.Scale), int(t.Precision), parquet.FixedLenByteArrayType(16)), func(a arrow.Array, i int) parquet.Value {
			n := a.(*array.Decimal128).Value(i)
			var b [16]byte // big-endian two's complement
			be.PutUint64(b[:8], uint64(n.HighBits()))
			be.PutUint64(b[8:], n.LowBits())
			return parquet.FixedLenByteArrayValue(b[:])
		})
	case *arrow.StringType:
		return leaf(parquet.String(), func(a arrow.Array, i int) parquet.Value {
			return parquet.ByteArrayValue(strBytes(a.(*array.String), i))
		})
	case *arrow.BinaryType:
		return leaf(parquet.Leaf(parquet.ByteArrayType), func(a arrow.Array, i int) parquet.Value { return parquet.ByteArrayValue(a.(*array.Binary).Value(i)) })
	case *arrow.DictionaryType:
		// enums: the labels dictionary-encoded in every row group
		return leaf(parquet.Encoded(parquet.String(), &parquet.RLEDictionary), func(a arrow.Array, i int) parquet.Value {
			d := a.(*array.Dictionary)
			return parquet.ByteArrayValue(strBytes(d.Dictionary().(*array.String), d.GetValueIndex(i)))
		})
	case *arrow.Date32Type:
		return leaf(parquet.Date(), func(a arrow.Array, i int) parquet.Value { return parquet.Int32Value(int32(a.(*array.Date32).Value(i))) })
	case *arrow.Time64Type:
		return leaf(parquet.TimeAdjusted(parquet.Microsecond, false), func(a arrow.Array, i int) parquet.Value { return parquet.Int64Value(int64(a.(*array.Time64).Value(i))) })
	case *arrow.TimestampType:
		return leaf(parquet.TimestampAdjusted(parquet.Microsecond, t.TimeZone != ""), func(a arrow.Array, i int) parquet.Value {
			return parquet.Int64Value(int64(a.(*array.Timestamp).Value(i)))
		})
	case *extensions.UUIDType:
		return leaf(parquet.UUID(), func(a arrow.Array, i int) parquet.Value {
			return parquet.FixedLenByteArrayValue(a.(array.ExtensionArray).Storage().(*array.FixedSizeBinary).Value(i))
		})
	case *extensions.JSONType:
		return leaf(parquet.JSON(), func(a arrow.Array, i int) parquet.Value {
			return parquet.ByteArrayValue(strBytes(a.(array.ExtensionArray).Storage().(*array.String), i))
		})
	case *arrow.StructType:
		n := &pnode{kind: 'g'}
		g := make(orderedGroup, 0, t.NumFields())
		for _, f := range t.Fields() {
			c, node, err := s.node(f.Type, next, rep)
			if err != nil {
				return nil, nil, err
			}
			n.fields = append(n.fields, c)
			n.leaves = append(n.leaves, c.leaves...)
			g = append(g, namedField{Node: parquet.Optional(node), name: f.Name})
		}
		return n, g, nil
	case *arrow.ListType:
		e, node, err := s.node(t.Elem(), next, rep+1)
		if err != nil {
			return nil, nil, err
		}
		return &pnode{kind: 'l', rep: rep + 1, elem: e, leaves: e.leaves}, parquet.List(parquet.Optional(node)), nil
	}
	return nil, nil, fmt.Errorf("no Parquet mapping for Arrow type %v", t)
}

// strBytes is string i of a without a copy (parquet-go copies values as it
// writes them).
func strBytes(a *array.String, i int) []byte {
	v := a.Value(i)
	return unsafe.Slice(unsafe.StringData(v), len(v))
}

// write shreds the batch column by column into leaf values with their
// levels and writes them straight to parquet-go's column writers (no rows
// assembled), then flushes them as one row group.
func (s *parquetSink) write(rec arrow.RecordBatch) error {
	nrows := int(rec.NumRows())
	cols := rec.Columns()
	cws := s.w.ColumnWriters()
	if s.vals == nil {
		s.vals = make([][]parquet.Value, len(cws))
	}
	const chunk = 4096 // rows per WriteRowValues: bounds the value buffers
	for start := 0; start < nrows; start += chunk {
		end := min(start+chunk, nrows)
		for c, n := range s.cols {
			if n.kind == 'v' {
				// a top-level value: definition level 1, or 0 for NULL
				s.vals[n.col] = leafValues(s.vals[n.col], n, cols[c], start, end)
			} else {
				for i := start; i < end; i++ {
					shred(s.vals, n, cols[c], i, 0, 0)
				}
			}
			for _, leaf := range n.leaves {
				if _, err := cws[leaf].WriteRowValues(s.vals[leaf]); err != nil {
					return err
				}
				s.vals[leaf] = s.vals[leaf][:0]
			}
		}
	}
	return s.w.Flush()
}

// leafValues appends values lo to hi of a top-level leaf column: the
// common case, without shred's recursion.
func leafValues(out []parquet.Value, n *pnode, a arrow.Array, lo, hi int) []parquet.Value {
	if a.NullN() == 0 {
		for i := lo; i < hi; i++ {
			out = append(out, n.value(a, i).Level(0, 1, n.col))
		}
		return out
	}
	for i := lo; i < hi; i++ {
		if a.IsNull(i) {
			out = append(out, parquet.NullValue().Level(0, 0, n.col))
		} else {
			out = append(out, n.value(a, i).Level(0, 1, n.col))
		}
	}
	return out
}

// shred appends the leaf values of value i of a, under node n, to out (one
// slice per leaf column), with the repetition level rep and the definition
// level def of its parent.
func shred(out [][]parquet.Value, n *pnode, a arrow.Array, i, rep, def int) {
	if a.IsNull(i) {
		for _, c := range n.leaves {
			out[c] = append(out[c], parquet.NullValue().Level(rep, def, c))
		}
		return
	}
	switch n.kind {
	case 'v':
		out[n.col] = append(out[n.col], n.value(a, i).Level(rep, def+1, n.col))
		return
	case 'g':
		sa := a.(*array.Struct)
		for f, c := range n.fields {
			shred(out, c, sa.Field(f), i, rep, def+1)
		}
		return
	}
	la := a.(*array.List)
	lo, hi := la.ValueOffsets(i)
	if lo == hi { // an empty list: present, without elements
		for _, c := range n.leaves {
			out[c] = append(out[c], parquet.NullValue().Level(rep, def+1, c))
		}
		return
	}
	vals := la.ListValues()
	for j := lo; j < hi; j++ {
		r := rep
		if j > lo {
			r = n.rep
		}
		shred(out, n.elem, vals, int(j), r, def+2)
	}
}

func (s *parquetSink) close() error { return s.w.Close() }

// orderedGroup is a Parquet group whose fields keep their order (and may
// repeat a name inside composites): parquet.Group sorts its fields by
// name, which would reorder the columns of a query.
type orderedGroup []namedField

type namedField struct {
	parquet.Node
	name string
}

func (f namedField) Name() string                           { return f.name }
func (f namedField) Value(base reflect.Value) reflect.Value { return reflect.Value{} }

func (g orderedGroup) ID() int                     { return 0 }
func (g orderedGroup) String() string              { return fmt.Sprintf("group(%d fields)", len(g)) }
func (g orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g orderedGroup) Optional() bool              { return false }
func (g orderedGroup) Repeated() bool              { return false }
func (g orderedGroup) Required() bool              { return true }
func (g orderedGroup) Leaf() bool                  { return false }
func (g orderedGroup) GoType() reflect.Type        { return reflect.TypeFor[map[string]any]() }
func (g orderedGroup) Encoding() encoding.Encoding { return nil }
func (g orderedGroup) Compression() compress.Codec {
	return nil
}
func (g orderedGroup) Fields() []parquet.Field {
	out := make([]parquet.Field, len(g))
	for i, f := range g {
		out[i] = f
	}
	return out
}
