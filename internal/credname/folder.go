package credname

import (
	"fmt"
	"regexp"
	"strings"
)

var folderSegment = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// CheckFolder checks a Vault mount or prefix (what says which) before it
// becomes part of Vault paths and ACL policies: path segments of letters,
// digits, '-', '_' and '.', separated by '/' (outer slashes are dropped).
// A Vault glob character ('*', '+'), a ".." or "." segment, or an empty one
// would make a policy's paths cover other folders than credkeeper's, or
// every one.
func CheckFolder(what, p string) error {
	problem := ""
	trimmed := strings.Trim(p, "/")
	if trimmed == "" {
		problem = "is empty"
	}
	for _, seg := range strings.Split(trimmed, "/") {
		if problem != "" {
			break
		}
		switch {
		case seg == "":
			problem = "has an empty segment"
		case seg == "." || seg == "..":
			problem = fmt.Sprintf("has a %q segment", seg)
		case !folderSegment.MatchString(seg):
			i := strings.IndexFunc(seg, func(r rune) bool { return !folderSegment.MatchString(string(r)) })
			r := []rune(seg[i:])[0]
			if r == '*' || r == '+' {
				problem = fmt.Sprintf("has %q, a Vault glob character", r)
			} else {
				problem = fmt.Sprintf("has %q", r)
			}
		}
	}
	if problem == "" {
		return nil
	}
	example := "teams/security/credkeeper"
	if what == "mount" {
		example = "secret"
	}
	return fmt.Errorf("%s %q %s: use path segments of letters, digits, '-', '_' and '.' separated by '/', such as %q", what, p, problem, example)
}
