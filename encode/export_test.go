package encode

// Exported for the tests of package encode_test.
var (
	BuiltinArrays  = builtinArrays
	BuiltinScalars = builtinScalars
)
