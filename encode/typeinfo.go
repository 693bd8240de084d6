package encode

// TypeInfo is what jsonl and json need to know about types that are not
// built in: the element type of an array, the attributes of a composite
// type, the base type of a domain. Built-in types (OIDs below 10000) are
// known without it, except the row types of system catalogs.
//
// Get one from LoadTypeInfo, or build one with NewTypeInfo (or a zero
// TypeInfo) and the Add methods. Encoders only read it, in Begin, so any
// number of them may share one; do not add to it while one is in Begin.
type TypeInfo struct {
	types map[uint32]typeDesc
}

type typeKind uint8

const (
	kindString    typeKind = iota // written as a JSON string (enum, range, base type)
	kindArray                     // elem, delim
	kindComposite                 // attrs
	kindDomain                    // elem is the base type
)

type typeDesc struct {
	kind  typeKind
	elem  uint32
	delim byte
	attrs []Attribute
}

// Attribute is one attribute (column) of a composite type.
type Attribute struct {
	Name string
	Type uint32 // the attribute's type OID
}

// NewTypeInfo returns an empty TypeInfo: built-in knowledge only.
func NewTypeInfo() *TypeInfo {
	return &TypeInfo{types: make(map[uint32]typeDesc)}
}

// AddArray records that oid is an array type whose elements are of type
// elem, separated by delim in its text form (the element type's typdelim:
// ',' for nearly every type; 0 means ',').
func (ti *TypeInfo) AddArray(oid, elem uint32, delim byte) {
	ti.init()
	if delim == 0 {
		delim = ','
	}
	ti.types[oid] = typeDesc{kind: kindArray, elem: elem, delim: delim}
}

// AddComposite records that oid is a composite type with these attributes,
// in order, dropped attributes left out.
func (ti *TypeInfo) AddComposite(oid uint32, attrs []Attribute) {
	ti.init()
	ti.types[oid] = typeDesc{kind: kindComposite, attrs: append([]Attribute(nil), attrs...)}
}

// AddDomain records that oid is a domain over the type base.
func (ti *TypeInfo) AddDomain(oid, base uint32) {
	ti.init()
	ti.types[oid] = typeDesc{kind: kindDomain, elem: base}
}

func (ti *TypeInfo) init() {
	if ti.types == nil {
		ti.types = make(map[uint32]typeDesc)
	}
}

// lookup finds oid's description; ti may be nil.
func (ti *TypeInfo) lookup(oid uint32) (typeDesc, bool) {
	if ti == nil {
		return typeDesc{}, false
	}
	d, ok := ti.types[oid]
	return d, ok
}

// known reports whether oid needs no catalog lookup.
func (ti *TypeInfo) known(oid uint32) bool {
	if _, ok := ti.lookup(oid); ok {
		return true
	}
	_, scalar := builtinScalars[oid]
	_, array := builtinArrays[oid]
	return scalar || array
}
