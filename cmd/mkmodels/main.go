// Command mkmodels writes tfserve's demo SavedModels (see package
// loader/modelwriter/demo) under a directory, default testdata/models.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/tfserve/tfserve/loader/modelwriter/demo"
)

func main() {
	out := flag.String("out", "testdata/models", "directory to write the models into")
	flag.Parse()
	if err := demo.WriteAll(*out); err != nil {
		fmt.Fprintln(os.Stderr, "mkmodels:", err)
		os.Exit(1)
	}
}
