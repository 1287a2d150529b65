package admission

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Sojourn returns how long ago the last data arrived on c, from the
// kernel's TCP_INFO (millisecond resolution): for a connection whose
// request has just been read, the time the request waited in the socket
// buffer and the run queue before a handler saw it. It returns -1 when c
// is not a TCP connection or the kernel does not tell.
func Sojourn(c net.Conn) time.Duration {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	d := time.Duration(-1)
	_ = raw.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			d = time.Duration(info.Last_data_recv) * time.Millisecond
		}
	})
	return d
}
