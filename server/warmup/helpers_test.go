package warmup

import (
	"io"
)

func errEOF() error { return io.EOF }
