// Command senderscope investigates e-mail deliverability incidents.
package main

import "os"

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(0)
}
