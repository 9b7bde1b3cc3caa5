// Command silo is Silo's single binary: the HTTP server, the migration
// runner and the operator's tools (see internal/assembly/cli). An application that
// embeds Silo builds its own binary the same way, with its options (see the
// silo package and examples/notes).
package main

import "github.com/silo-dev/silo"

func main() { silo.Main() }
