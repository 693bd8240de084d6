package encode

// Built-in type knowledge, taken from the pg_type catalog of PostgreSQL 15
// (OIDs below 10000 are fixed by the server's source and never reused). The
// test TestBuiltinTablesMatchCatalog checks these tables against the server.

// builtinArrays maps each built-in array type (typelem <> 0, typlen = -1) to
// its element type. int2vector and oidvector are in it too; their text form
// is space separated, which vectorConverter handles.
var builtinArrays = map[uint32]uint32{
	22:   21,   // int2vector of int2
	30:   26,   // oidvector of oid
	143:  142,  // _xml of xml
	199:  114,  // _json of json
	210:  71,   // _pg_type of pg_type
	270:  75,   // _pg_attribute of pg_attribute
	271:  5069, // _xid8 of xid8
	272:  81,   // _pg_proc of pg_proc
	273:  83,   // _pg_class of pg_class
	629:  628,  // _line of line
	651:  650,  // _cidr of cidr
	719:  718,  // _circle of circle
	775:  774,  // _macaddr8 of macaddr8
	791:  790,  // _money of money
	1000: 16,   // _bool of bool
	1001: 17,   // _bytea of bytea
	1002: 18,   // _char of char
	1003: 19,   // _name of name
	1005: 21,   // _int2 of int2
	1006: 22,   // _int2vector of int2vector
	1007: 23,   // _int4 of int4
	1008: 24,   // _regproc of regproc
	1009: 25,   // _text of text
	1010: 27,   // _tid of tid
	1011: 28,   // _xid of xid
	1012: 29,   // _cid of cid
	1013: 30,   // _oidvector of oidvector
	1014: 1042, // _bpchar of bpchar
	1015: 1043, // _varchar of varchar
	1016: 20,   // _int8 of int8
	1017: 600,  // _point of point
	1018: 601,  // _lseg of lseg
	1019: 602,  // _path of path
	1020: 603,  // _box of box
	1021: 700,  // _float4 of float4
	1022: 701,  // _float8 of float8
	1027: 604,  // _polygon of polygon
	1028: 26,   // _oid of oid
	1034: 1033, // _aclitem of aclitem
	1040: 829,  // _macaddr of macaddr
	1041: 869,  // _inet of inet
	1115: 1114, // _timestamp of timestamp
	1182: 1082, // _date of date
	1183: 1083, // _time of time
	1185: 1184, // _timestamptz of timestamptz
	1187: 1186, // _interval of interval
	1231: 1700, // _numeric of numeric
	1263: 2275, // _cstring of cstring
	1270: 1266, // _timetz of timetz
	1561: 1560, // _bit of bit
	1563: 1562, // _varbit of varbit
	2201: 1790, // _refcursor of refcursor
	2207: 2202, // _regprocedure of regprocedure
	2208: 2203, // _regoper of regoper
	2209: 2204, // _regoperator of regoperator
	2210: 2205, // _regclass of regclass
	2211: 2206, // _regtype of regtype
	2287: 2249, // _record of record
	2949: 2970, // _txid_snapshot of txid_snapshot
	2951: 2950, // _uuid of uuid
	3221: 3220, // _pg_lsn of pg_lsn
	3643: 3614, // _tsvector of tsvector
	3644: 3642, // _gtsvector of gtsvector
	3645: 3615, // _tsquery of tsquery
	3735: 3734, // _regconfig of regconfig
	3770: 3769, // _regdictionary of regdictionary
	3807: 3802, // _jsonb of jsonb
	3905: 3904, // _int4range of int4range
	3907: 3906, // _numrange of numrange
	3909: 3908, // _tsrange of tsrange
	3911: 3910, // _tstzrange of tstzrange
	3913: 3912, // _daterange of daterange
	3927: 3926, // _int8range of int8range
	4073: 4072, // _jsonpath of jsonpath
	4090: 4089, // _regnamespace of regnamespace
	4097: 4096, // _regrole of regrole
	4192: 4191, // _regcollation of regcollation
	5039: 5038, // _pg_snapshot of pg_snapshot
	6150: 4451, // _int4multirange of int4multirange
	6151: 4532, // _nummultirange of nummultirange
	6152: 4533, // _tsmultirange of tsmultirange
	6153: 4534, // _tstzmultirange of tstzmultirange
	6155: 4535, // _datemultirange of datemultirange
	6157: 4536, // _int8multirange of int8multirange
}

// builtinScalars holds every other built-in type that is not a composite: its
// values are converted by its OID alone (see scalarConverter).
var builtinScalars = map[uint32]struct{}{
	16:   {}, // bool
	17:   {}, // bytea
	18:   {}, // char
	19:   {}, // name
	20:   {}, // int8
	21:   {}, // int2
	23:   {}, // int4
	24:   {}, // regproc
	25:   {}, // text
	26:   {}, // oid
	27:   {}, // tid
	28:   {}, // xid
	29:   {}, // cid
	32:   {}, // pg_ddl_command
	114:  {}, // json
	142:  {}, // xml
	194:  {}, // pg_node_tree
	269:  {}, // table_am_handler
	325:  {}, // index_am_handler
	600:  {}, // point
	601:  {}, // lseg
	602:  {}, // path
	603:  {}, // box
	604:  {}, // polygon
	628:  {}, // line
	650:  {}, // cidr
	700:  {}, // float4
	701:  {}, // float8
	705:  {}, // unknown
	718:  {}, // circle
	774:  {}, // macaddr8
	790:  {}, // money
	829:  {}, // macaddr
	869:  {}, // inet
	1033: {}, // aclitem
	1042: {}, // bpchar
	1043: {}, // varchar
	1082: {}, // date
	1083: {}, // time
	1114: {}, // timestamp
	1184: {}, // timestamptz
	1186: {}, // interval
	1266: {}, // timetz
	1560: {}, // bit
	1562: {}, // varbit
	1700: {}, // numeric
	1790: {}, // refcursor
	2202: {}, // regprocedure
	2203: {}, // regoper
	2204: {}, // regoperator
	2205: {}, // regclass
	2206: {}, // regtype
	2249: {}, // record
	2275: {}, // cstring
	2276: {}, // any
	2277: {}, // anyarray
	2278: {}, // void
	2279: {}, // trigger
	2280: {}, // language_handler
	2281: {}, // internal
	2283: {}, // anyelement
	2776: {}, // anynonarray
	2950: {}, // uuid
	2970: {}, // txid_snapshot
	3115: {}, // fdw_handler
	3220: {}, // pg_lsn
	3310: {}, // tsm_handler
	3361: {}, // pg_ndistinct
	3402: {}, // pg_dependencies
	3500: {}, // anyenum
	3614: {}, // tsvector
	3615: {}, // tsquery
	3642: {}, // gtsvector
	3734: {}, // regconfig
	3769: {}, // regdictionary
	3802: {}, // jsonb
	3831: {}, // anyrange
	3838: {}, // event_trigger
	3904: {}, // int4range
	3906: {}, // numrange
	3908: {}, // tsrange
	3910: {}, // tstzrange
	3912: {}, // daterange
	3926: {}, // int8range
	4072: {}, // jsonpath
	4089: {}, // regnamespace
	4096: {}, // regrole
	4191: {}, // regcollation
	4451: {}, // int4multirange
	4532: {}, // nummultirange
	4533: {}, // tsmultirange
	4534: {}, // tstzmultirange
	4535: {}, // datemultirange
	4536: {}, // int8multirange
	4537: {}, // anymultirange
	4538: {}, // anycompatiblemultirange
	4600: {}, // pg_brin_bloom_summary
	4601: {}, // pg_brin_minmax_multi_summary
	5017: {}, // pg_mcv_list
	5038: {}, // pg_snapshot
	5069: {}, // xid8
	5077: {}, // anycompatible
	5078: {}, // anycompatiblearray
	5079: {}, // anycompatiblenonarray
	5080: {}, // anycompatiblerange
}
