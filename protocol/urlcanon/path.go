package urlcanon

// canonicalPath applies the SB v4 path rules to an unescaped path that is
// empty or starts with '/':
//  1. resolve "/./" and "/../" (a ".." removes the segment before it);
//  2. replace runs of '/' with one.
//
// The order matters: in "/a//../b" the ".." removes the empty segment, giving
// "/a/b" as browsers do, where collapsing first would give "/b". A final "."
// or ".." segment leaves a trailing slash ("/blah/.." → "/").
func canonicalPath(p string) string {
	if p == "" {
		return "/"
	}
	if isCanonicalPath(p) {
		return p
	}
	return collapseSlashes(resolveDots(p))
}

// isCanonicalPath reports whether p has no "//", "." or ".." segment, so the
// common case costs one scan and no allocation.
func isCanonicalPath(p string) bool {
	start := 1 // p[0] == '/'
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		seg := p[start:i]
		if seg == "." || seg == ".." || (seg == "" && i < len(p)) {
			return false
		}
		start = i + 1
	}
	return true
}

// resolveDots removes "." segments and each ".." with the segment before it,
// keeping empty segments so that ".." can remove them too.
func resolveDots(p string) []byte {
	out := make([]byte, 0, len(p)+1)
	start := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		seg := p[start:i]
		last := i == len(p)
		switch seg {
		case ".":
			if last {
				out = append(out, '/')
			}
		case "..":
			out = dropLastSegment(out)
			if last {
				out = append(out, '/')
			}
		default:
			out = append(out, '/')
			out = append(out, seg...)
		}
		start = i + 1
	}
	return out
}

// dropLastSegment removes the last "/segment" from out.
func dropLastSegment(out []byte) []byte {
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] == '/' {
			return out[:i]
		}
	}
	return out[:0]
}

// collapseSlashes replaces runs of '/' with one and returns "/" for an empty
// result.
func collapseSlashes(b []byte) string {
	w := 0
	for r := 0; r < len(b); r++ {
		if b[r] == '/' && w > 0 && b[w-1] == '/' {
			continue
		}
		b[w] = b[r]
		w++
	}
	if w == 0 {
		return "/"
	}
	return string(b[:w])
}
