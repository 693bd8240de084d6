package main

import (
	"fmt"
	"runtime/debug"
)

// versionText is what --version prints: the module version and the VCS
// commit recorded by the Go toolchain at build time (debug.ReadBuildInfo).
// A binary built inside the repository has version "(devel)"; one built with
// -buildvcs=false (as the Makefile does) has no commit.
func versionText() string {
	version, commit, modified, goVersion := "(unknown)", "", false, ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		version, goVersion = bi.Main.Version, bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	out := "streamcat " + version
	switch {
	case commit != "" && modified:
		out += fmt.Sprintf(", commit %s (modified)", commit)
	case commit != "":
		out += ", commit " + commit
	default:
		out += ", commit unknown (built without VCS information)"
	}
	if goVersion != "" {
		out += ", " + goVersion
	}
	return out + "\n"
}
