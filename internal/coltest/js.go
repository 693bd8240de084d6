package coltest

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// JSStream is what columnar/jsreader/read.js prints for one Arrow IPC
// stream, as apache-arrow (JavaScript) read it.
type JSStream struct {
	Schema struct {
		Fields []JSField `json:"fields"`
	} `json:"schema"`
	Batches int     `json:"batches"`
	Rows    [][]any `json:"rows"`
}

// JSField is a field of a JSStream's schema.
type JSField struct {
	Name     string            `json:"name"`
	Nullable bool              `json:"nullable"`
	Metadata map[string]string `json:"metadata"`
	Type     JSType            `json:"type"`
}

// JSType is an Arrow type as read.js describes it: ID is apache-arrow's
// type id name ("Int", "Timestamp", ...), Str its rendering of the type.
type JSType struct {
	ID       string    `json:"id"`
	Str      string    `json:"str"`
	Bits     int       `json:"bits"`
	Scale    int       `json:"scale"`
	Unit     string    `json:"unit"`
	TZ       *string   `json:"tz"`
	Value    *JSType   `json:"value"` // a dictionary's value type
	Children []JSField `json:"children"`
}

// FromJS is the canonical form of v, a value read.js printed for field f.
func FromJS(f JSField, v any) string {
	if v == nil {
		return "NULL"
	}
	return fromJS(f.Type, f.Metadata["ARROW:extension:name"], v)
}

func fromJS(t JSType, ext string, v any) string {
	if v == nil {
		return "NULL"
	}
	s, _ := v.(string) // every scalar but bool is printed as a string
	switch t.ID {
	case "Int":
		return s
	case "Float":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return "bad float " + strconv.Quote(s)
		}
		return Float(f, t.Bits)
	case "Decimal":
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			return "bad decimal " + strconv.Quote(s)
		}
		return Rat(r)
	case "Bool":
		b, ok := v.(bool)
		if !ok {
			return fmt.Sprintf("bad bool %v", v)
		}
		return strconv.FormatBool(b)
	case "Utf8", "LargeUtf8":
		if ext == "arrow.json" {
			return JSON(s)
		}
		return strconv.Quote(s)
	case "Binary", "LargeBinary", "FixedSizeBinary":
		return "x" + s
	case "Date":
		return "days:" + s
	case "Time", "Timestamp":
		if t.Unit != "MICROSECOND" {
			return "unexpected unit " + t.Str
		}
		if t.ID == "Time" {
			return "time:" + s
		}
		return "us:" + s
	case "Dictionary":
		if t.Value == nil {
			return "dictionary without value type"
		}
		return fromJS(*t.Value, "", v)
	case "List", "LargeList":
		items, ok := v.([]any)
		if !ok || len(t.Children) != 1 {
			return fmt.Sprintf("bad list %v", v)
		}
		out := make([]string, len(items))
		for i, x := range items {
			out[i] = FromJS(t.Children[0], x)
		}
		return List(out)
	case "Struct":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Sprintf("bad struct %v", v)
		}
		m := make(map[string]string, len(t.Children))
		for _, c := range t.Children {
			m[c.Name] = FromJS(c, obj[c.Name])
		}
		if len(obj) != len(t.Children) {
			m["unexpected attributes"] = strings.Join(keys(obj), " ")
		}
		return Struct(m)
	}
	return "unexpected type " + t.Str
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
