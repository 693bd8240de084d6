package coltest

import (
	"fmt"
	"math/big"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/extensions"
)

// FromArrow is the canonical form of value i of arr, as arrow-go decodes a
// written Arrow stream or Parquet file (through pqarrow).
func FromArrow(arr arrow.Array, i int) string {
	if arr.IsNull(i) {
		return "NULL"
	}
	switch a := arr.(type) {
	case *array.Int16:
		return fmt.Sprint(a.Value(i))
	case *array.Int32:
		return fmt.Sprint(a.Value(i))
	case *array.Int64:
		return fmt.Sprint(a.Value(i))
	case *array.Uint32:
		return fmt.Sprint(a.Value(i))
	case *array.Float32:
		return Float(float64(a.Value(i)), 32)
	case *array.Float64:
		return Float(a.Value(i), 64)
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i))
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		r := new(big.Rat).SetFrac(a.Value(i).BigInt(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
		return Rat(r)
	case *array.String:
		return strconv.Quote(a.Value(i))
	case *array.Binary:
		return Bytes(a.Value(i))
	case *array.Date32:
		return Days(int64(a.Value(i)))
	case *array.Time64:
		return fmt.Sprintf("time:%d", a.Value(i))
	case *array.Timestamp:
		return Micros(int64(a.Value(i)))
	case *extensions.UUIDArray:
		return Bytes(a.Storage().(*array.FixedSizeBinary).Value(i))
	case *extensions.JSONArray:
		return JSON(a.Storage().(*array.String).Value(i))
	case array.ExtensionArray:
		return "unexpected extension " + a.ExtensionType().ExtensionName()
	case *array.Dictionary:
		return FromArrow(a.Dictionary(), a.GetValueIndex(i))
	case *array.List:
		start, end := a.ValueOffsets(i)
		items := make([]string, 0, end-start)
		for j := start; j < end; j++ {
			items = append(items, FromArrow(a.ListValues(), int(j)))
		}
		return List(items)
	case *array.Struct:
		t := a.DataType().(*arrow.StructType)
		m := make(map[string]string, t.NumFields())
		for f := range t.NumFields() {
			m[t.Field(f).Name] = FromArrow(a.Field(f), i)
		}
		return Struct(m)
	}
	return fmt.Sprintf("unexpected %T", arr)
}
