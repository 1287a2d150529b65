// Command mkwarmup writes a SavedModel version's warmup file,
// <version dir>/assets.extra/tf_serving_warmup_requests, from REST request
// bodies (the JSON you would POST to :predict, :classify or :regress):
//
//	mkwarmup --model_dir=/models/half_plus_two/1 req1.json req2.json
//	echo '{"instances": [[1.0]]}' | mkwarmup --model_dir=/models/half_plus_two/1 -
//	mkwarmup --model_dir=... --api=classify --append examples.json
//
// Predict bodies are typed with the model's signatures (read from
// saved_model.pb), as the REST API types them. The file is replaced unless
// --append is given; tfserve and TF Serving replay it before serving the
// version.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tfserve/tfserve/loader/savedmodel"
	"github.com/tfserve/tfserve/servable"
	"github.com/tfserve/tfserve/server/grpcapi"
	"github.com/tfserve/tfserve/server/restapi/jsontensor"
	"github.com/tfserve/tfserve/server/warmup"
)

func main() {
	if err := run(os.Args[1:], os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "mkwarmup:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader) error {
	fs := flag.NewFlagSet("mkwarmup", flag.ContinueOnError)
	dir := fs.String("model_dir", "", "SavedModel version directory (required)")
	api := fs.String("api", "predict", "predict, classify or regress")
	tags := fs.String("tags", "serve", "comma-separated MetaGraph tags")
	model := fs.String("model_name", "", "model name put in model_spec (default: the base directory's name)")
	appendTo := fs.Bool("append", false, "append to an existing warmup file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() == 0 {
		return fmt.Errorf("usage: mkwarmup --model_dir=DIR [--api=predict|classify|regress] [--append] BODY.json... (- reads stdin)")
	}
	name := *model
	if name == "" {
		name = filepath.Base(filepath.Dir(filepath.Clean(*dir)))
	}
	sigs, err := signatures(*dir, strings.Split(*tags, ","))
	if err != nil {
		return err
	}
	lookup := func(n string) (*servable.Signature, error) {
		if s := sigs[n]; s != nil {
			return s, nil
		}
		return nil, jsontensor.ErrSignatureNotFound(n)
	}
	var logs []warmup.Log
	if *appendTo {
		if logs, err = readExisting(*dir); err != nil {
			return err
		}
	}
	for _, a := range fs.Args() {
		var body []byte
		if a == "-" {
			body, err = io.ReadAll(stdin)
		} else {
			body, err = os.ReadFile(a)
		}
		if err != nil {
			return err
		}
		l, err := warmup.LogFromJSON(*api, name, body, lookup)
		if err != nil {
			return fmt.Errorf("%s: %w", a, err)
		}
		logs = append(logs, l)
	}
	if len(logs) > warmup.MaxRecords {
		return fmt.Errorf("%d records: a warmup file holds at most %d", len(logs), warmup.MaxRecords)
	}
	if err := warmup.WriteFile(*dir, logs...); err != nil {
		return err
	}
	fmt.Printf("wrote %d records to %s\n", len(logs), warmup.Path(*dir))
	return nil
}

func signatures(dir string, tags []string) (map[string]*servable.Signature, error) {
	sm, err := savedmodel.Read(dir)
	if err != nil {
		return nil, err
	}
	mg, err := savedmodel.MetaGraph(sm, tags)
	if err != nil {
		return nil, err
	}
	out := map[string]*servable.Signature{}
	for n, d := range mg.GetSignatureDef() {
		out[n] = grpcapi.ServableSignature(n, d)
	}
	return out, nil
}

// readExisting returns the records of the version's current warmup file
// (none when there is no file); a corrupt file is an error.
func readExisting(dir string) ([]warmup.Log, error) {
	f, err := os.Open(warmup.Path(dir))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return warmup.ReadLogs(context.Background(), f)
}
