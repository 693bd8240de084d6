package encode

// Type OIDs row_to_json treats specially (PostgreSQL's json_categorize_type).
const (
	oidBool               = 16
	oidInt8               = 20
	oidInt2               = 21
	oidInt2Vector         = 22
	oidInt4               = 23
	oidOIDVector          = 30
	oidJSON               = 114
	oidBox                = 603
	oidFloat4             = 700
	oidFloat8             = 701
	oidTimestamp          = 1114
	oidTimestampTZ        = 1184
	oidNumeric            = 1700
	oidRecord             = 2249
	oidAnyArray           = 2277
	oidJSONB              = 3802
	oidAnyCompatibleArray = 5078
)

// maxTypeDepth bounds the nesting of types a converter follows; PostgreSQL
// forbids recursive types, so only a hand-made cyclic TypeInfo reaches it.
const maxTypeDepth = 32

// converter returns the function that writes values of type oid as
// row_to_json would, following ti (which may be nil) for types that are not
// built in. Types it does not know are written as JSON strings, which is
// what row_to_json does for every type without a special rule.
func (ti *TypeInfo) converter(oid uint32, depth int) converter {
	if depth > maxTypeDepth {
		return appendString
	}
	if d, ok := ti.lookup(oid); ok {
		switch d.kind {
		case kindDomain:
			return ti.converter(d.elem, depth+1)
		case kindArray:
			return (&arrayConverter{elem: ti.converter(d.elem, depth+1), delim: d.delim}).append
		case kindComposite:
			names := make([]string, len(d.attrs))
			fields := make([]converter, len(d.attrs))
			for i, a := range d.attrs {
				names[i] = a.Name
				fields[i] = ti.converter(a.Type, depth+1)
			}
			return newCompositeConverter(names, fields).append
		}
		return appendString
	}
	switch oid {
	case oidBool:
		return appendBool
	case oidInt2, oidInt4, oidInt8, oidFloat4, oidFloat8, oidNumeric:
		return appendNumber
	case oidJSON, oidJSONB:
		return appendRawJSON
	case oidTimestamp:
		return appendTimestamp
	case oidTimestampTZ:
		return appendTimestampTZ
	case oidInt2Vector, oidOIDVector:
		return (&vectorConverter{elem: ti.converter(builtinArrays[oid], depth+1)}).append
	case oidRecord:
		// An anonymous record's text carries no names or types.
		return newCompositeConverter(nil, nil).append
	case oidAnyArray, oidAnyCompatibleArray:
		return (&arrayConverter{elem: appendString, delim: ','}).append
	}
	if elem, ok := builtinArrays[oid]; ok {
		delim := byte(',')
		if elem == oidBox {
			delim = ';'
		}
		return (&arrayConverter{elem: ti.converter(elem, depth+1), delim: delim}).append
	}
	return appendString
}
