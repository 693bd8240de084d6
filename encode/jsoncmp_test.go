package encode_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// jsonTokens returns the token stream of one JSON value, numbers as
// json.Number. Unlike decoding into maps it keeps key order and duplicate
// keys, which row_to_json has.
func jsonTokens(data []byte) ([]json.Token, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var toks []json.Token
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		toks = append(toks, tok)
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("not valid JSON: %q", data)
	}
	return toks, nil
}

// jsonEqual reports whether a and b are the same JSON value: the same
// structure, keys in the same order, the same strings, and numbers equal as
// exact decimals (1.50 equals 1.5; -0 equals 0).
func jsonEqual(a, b []byte) (bool, string, error) {
	ta, err := jsonTokens(a)
	if err != nil {
		return false, "", err
	}
	tb, err := jsonTokens(b)
	if err != nil {
		return false, "", err
	}
	for i := 0; i < len(ta) && i < len(tb); i++ {
		if !tokenEqual(ta[i], tb[i]) {
			return false, fmt.Sprintf("token %d: %#v != %#v", i, ta[i], tb[i]), nil
		}
	}
	if len(ta) != len(tb) {
		return false, fmt.Sprintf("%d tokens != %d tokens", len(ta), len(tb)), nil
	}
	return true, "", nil
}

func tokenEqual(a, b json.Token) bool {
	na, aok := a.(json.Number)
	nb, bok := b.(json.Number)
	if aok && bok {
		ra, ok1 := new(big.Rat).SetString(string(na))
		rb, ok2 := new(big.Rat).SetString(string(nb))
		return ok1 && ok2 && ra.Cmp(rb) == 0
	}
	return a == b
}
