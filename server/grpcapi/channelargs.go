package grpcapi

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/tfserve/tfserve/servable/limits"
)

// ChannelArgument is one key=value pair of --grpc_channel_arguments.
type ChannelArgument struct {
	Key, Value string
}

// ParseChannelArguments parses --grpc_channel_arguments: comma-separated
// key=value pairs, e.g.
// "grpc.max_receive_message_length=1048576,grpc.keepalive_time_ms=30000".
// Empty entries are skipped; an entry without '=' or with an empty key is an
// error (TF Serving silently drops it).
func ParseChannelArguments(s string) ([]ChannelArgument, error) {
	var out []ChannelArgument
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("--grpc_channel_arguments: %q is not key=value", part)
		}
		out = append(out, ChannelArgument{Key: k, Value: v})
	}
	return out, nil
}

// Transport defaults, each changed by the --grpc_channel_arguments key named.
const (
	// DefaultMaxConcurrentStreams bounds the RPCs one connection has open
	// (grpc.max_concurrent_streams); grpc-go has no bound by default.
	DefaultMaxConcurrentStreams = 1024
	// DefaultMaxHeaderListBytes bounds a request's metadata
	// (grpc.max_metadata_size); TF Serving's gRPC C++ refuses more than
	// 16 KiB, grpc-go would take 16 MiB per stream.
	DefaultMaxHeaderListBytes = 64 << 10
	// DefaultKeepaliveMinTime is the shortest interval between client
	// pings the server tolerates (grpc.http2.min_recv_ping_interval_without_data_ms);
	// pings without an RPC in flight are refused
	// (grpc.keepalive_permit_without_calls=0), so an idle client cannot keep
	// a connection alive by pinging.
	DefaultKeepaliveMinTime = 10 * time.Second
	// DefaultMaxConnectionIdle closes a connection that has had no RPC for
	// this long (grpc.max_connection_idle_ms) with a GOAWAY; clients
	// reconnect on their next call.
	DefaultMaxConnectionIdle = 15 * time.Minute
	// DefaultKeepaliveTime and DefaultKeepaliveTimeout: the server pings a
	// quiet connection after this long and closes it when the ping is not
	// answered in time (grpc.keepalive_time_ms, grpc.keepalive_timeout_ms).
	DefaultKeepaliveTime    = 2 * time.Hour
	DefaultKeepaliveTimeout = 20 * time.Second
)

// DefaultMaxReceiveBytes is the default grpc.max_receive_message_length for
// a request budget: TF Serving's INT32_MAX, lowered to the largest request
// the budget could accept (every element a 10-byte varint, plus all the
// budget's bytes as payload, plus 1 MiB of framing), so that grpc-go refuses
// a message no budget would let through before buffering it.
func DefaultMaxReceiveBytes(r limits.Request) int {
	r = r.WithDefaults()
	n := int64(math.MaxInt32)
	if r.MaxElements < n/10 && r.MaxBytes < n {
		n = min(n, 10*r.MaxElements+r.MaxBytes+1<<20)
	}
	return int(n)
}

// channelSettings are the server settings channel arguments can change.
type channelSettings struct {
	maxRecv, maxSend int
	maxStreams       uint32
	maxHeaderList    uint32
	hasMaxStreams    bool
	hasMaxHeaderList bool
	writeBuffer      int
	hasWriteBuffer   bool
	readBuffer       int
	hasReadBuffer    bool
	ka               keepalive.ServerParameters
	hasKA            bool
	kep              keepalive.EnforcementPolicy
	hasKEP           bool
}

// applyChannelArguments turns channel arguments into settings. It returns
// the keys that grpc-go has no equivalent for (the caller logs them; gRPC
// C++ ignores unknown arguments too) and an error for a known key whose value
// is not an int32, as gRPC C++ would read it.
//
// Settings no argument sets take tfserve's defaults (the Default constants
// and DefaultMaxReceiveBytes(budget)).
func applyChannelArguments(args []ChannelArgument, budget limits.Request) (channelSettings, []string, error) {
	cs := channelSettings{
		maxRecv: DefaultMaxReceiveBytes(budget), maxSend: math.MaxInt32,
		maxStreams: DefaultMaxConcurrentStreams, hasMaxStreams: true,
		maxHeaderList: DefaultMaxHeaderListBytes, hasMaxHeaderList: true,
		ka: keepalive.ServerParameters{MaxConnectionIdle: DefaultMaxConnectionIdle,
			Time: DefaultKeepaliveTime, Timeout: DefaultKeepaliveTimeout}, hasKA: true,
		kep: keepalive.EnforcementPolicy{MinTime: DefaultKeepaliveMinTime}, hasKEP: true,
	}
	var ignored []string
	for _, a := range args {
		n, err := strconv.ParseInt(a.Value, 10, 32)
		isInt := err == nil
		ms := time.Duration(n) * time.Millisecond
		needInt := func() error {
			if !isInt {
				return fmt.Errorf("--grpc_channel_arguments: %s=%q: want an int32", a.Key, a.Value)
			}
			return nil
		}
		switch a.Key {
		case "grpc.max_receive_message_length", "grpc.max_send_message_length":
			if err := needInt(); err != nil {
				return cs, nil, err
			}
			size := int(n)
			if n < 0 { // -1: unlimited in gRPC C++
				size = math.MaxInt32
			}
			if a.Key == "grpc.max_receive_message_length" {
				cs.maxRecv = size
			} else {
				cs.maxSend = size
			}
		case "grpc.max_concurrent_streams":
			if err := needInt(); err != nil {
				return cs, nil, err
			}
			cs.maxStreams = uint32(n)
			if n <= 0 { // unlimited, as in gRPC C++
				cs.maxStreams = math.MaxUint32
			}
		case "grpc.max_metadata_size":
			if err := needInt(); err != nil {
				return cs, nil, err
			}
			if n > 0 {
				cs.maxHeaderList, cs.hasMaxHeaderList = uint32(n), true
			}
		case "grpc.http2.write_buffer_size":
			if err := needInt(); err != nil {
				return cs, nil, err
			}
			cs.writeBuffer, cs.hasWriteBuffer = int(n), true
		case "grpc.http2.read_buffer_size", "grpc.experimental.tcp_read_chunk_size":
			if err := needInt(); err != nil {
				return cs, nil, err
			}
			cs.readBuffer, cs.hasReadBuffer = int(n), true
		case "grpc.keepalive_time_ms":
			if err := needInt(); err != nil {
				return cs, nil, err
			}
			cs.ka.Time, cs.hasKA = ms, true
		case "grpc.keepalive_timeout_ms":
			if err := needInt(); err != nil {
				return cs, nil, err
			}
			cs.ka.Timeout, cs.hasKA = ms, true
		case "grpc.max_connection_idle_ms":
			if err := needInt(); err != nil {
				return cs, nil, err
			}
			cs.ka.MaxConnectionIdle, cs.hasKA = ms, true
		case "grpc.max_connection_age_ms":
			if err := needInt(); err != nil {
				return cs, nil, err
			}
			cs.ka.MaxConnectionAge, cs.hasKA = ms, true
		case "grpc.max_connection_age_grace_ms":
			if err := needInt(); err != nil {
				return cs, nil, err
			}
			cs.ka.MaxConnectionAgeGrace, cs.hasKA = ms, true
		case "grpc.keepalive_permit_without_calls":
			if err := needInt(); err != nil {
				return cs, nil, err
			}
			cs.kep.PermitWithoutStream, cs.hasKEP = n != 0, true
		case "grpc.http2.min_ping_interval_without_data_ms", "grpc.http2.min_recv_ping_interval_without_data_ms":
			if err := needInt(); err != nil {
				return cs, nil, err
			}
			cs.kep.MinTime, cs.hasKEP = ms, true
		default:
			ignored = append(ignored, a.Key)
		}
	}
	return cs, ignored, nil
}

func (cs channelSettings) serverOptions() []grpc.ServerOption {
	opts := []grpc.ServerOption{grpc.MaxRecvMsgSize(cs.maxRecv), grpc.MaxSendMsgSize(cs.maxSend)}
	if cs.hasMaxStreams {
		opts = append(opts, grpc.MaxConcurrentStreams(cs.maxStreams))
	}
	if cs.hasMaxHeaderList {
		opts = append(opts, grpc.MaxHeaderListSize(cs.maxHeaderList))
	}
	if cs.hasWriteBuffer {
		opts = append(opts, grpc.WriteBufferSize(cs.writeBuffer))
	}
	if cs.hasReadBuffer {
		opts = append(opts, grpc.ReadBufferSize(cs.readBuffer))
	}
	if cs.hasKA {
		opts = append(opts, grpc.KeepaliveParams(cs.ka))
	}
	if cs.hasKEP {
		opts = append(opts, grpc.KeepaliveEnforcementPolicy(cs.kep))
	}
	return opts
}
