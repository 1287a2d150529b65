package jsontensor

// base64Unescape decodes standard-alphabet base64 as absl::Base64Unescape
// does, which TF Serving uses for {"b64": ...} values:
//   - ASCII whitespace (space, \t, \n, \v, \f, \r) is ignored anywhere;
//   - the data may end with '=' or '.' padding: either none, or exactly the
//     number the data length calls for (mixed with whitespace);
//   - a lone trailing 6-bit group is an error; unused low bits of the last
//     group are ignored (not required to be zero).
func base64Unescape(dst, src []byte) ([]byte, bool) {
	var acc uint32
	state := 0
	i := 0
	for ; i < len(src); i++ {
		c := src[i]
		v := unbase64(c)
		if v < 0 {
			if isAbslSpace(c) {
				continue
			}
			if c == '=' || c == '.' {
				break
			}
			return dst, false
		}
		acc = acc<<6 | uint32(v)
		state++
		if state == 4 {
			dst = append(dst, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, state = 0, 0
		}
	}
	expected := 0
	switch state {
	case 1:
		return dst, false
	case 2:
		dst = append(dst, byte(acc>>4))
		expected = 2
	case 3:
		dst = append(dst, byte(acc>>10), byte(acc>>2))
		expected = 1
	}
	equals := 0
	for ; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '=' || c == '.':
			equals++
		case !isAbslSpace(c):
			return dst, false
		}
	}
	return dst, equals == 0 || equals == expected
}

func unbase64(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

func isAbslSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
