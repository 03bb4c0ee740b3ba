// Package version holds credkeeper's version, set at build time with
// -ldflags "-X github.com/credkeeper/credkeeper/internal/version.Version=…".
package version

import "runtime/debug"

// Version is the release, or "dev" for a build without ldflags.
var Version = "dev"

// String is the version, falling back to the module version that `go
// install …@version` records when no ldflags were given.
func String() string {
	if Version != "dev" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return Version
}
