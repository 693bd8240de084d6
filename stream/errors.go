package stream

import "errors"

// ErrInterrupted ends the reading of a Result whose Interrupt was called:
// the rows read before it are a prefix of the result, not all of it. A
// reader who ended the stream itself (Close, a break, a one-answer method
// such as First) gets no error, because it asked for fewer rows.
var ErrInterrupted = errors.New("stream: interrupted: the rows end early because Interrupt was called, the result is incomplete")

// ErrDropped is what Options.OnDropped receives (wrapped) when a running
// Result was garbage-collected without Close.
var ErrDropped = errors.New("stream: a Result was garbage-collected without Close while its query still ran; the stream was interrupted and its connection given back (always Close a Result you do not read to the end)")
