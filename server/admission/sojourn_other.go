//go:build !linux

package admission

import (
	"net"
	"time"
)

// Sojourn returns -1: only Linux tells how long data waited on a socket.
func Sojourn(net.Conn) time.Duration { return -1 }
