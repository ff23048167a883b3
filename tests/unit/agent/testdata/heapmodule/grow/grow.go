// Package grow declares, at package level, the names of the packages the injected
// heap snapshot file imports: the file must import them under aliases to compile here.
package grow

const fmt = "not the fmt package"

var os = []string{"not", "the", "os", "package"}

type runtime struct{}

func time() runtime { return runtime{} }

var (
	pprof    = 1
	filepath = 2
)

// Names uses every declaration, so that nothing here is unused.
func Names() []any { return []any{fmt, os, time(), pprof, filepath} }
