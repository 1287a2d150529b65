#!/bin/sh
# Benchmarks of the TF Serving REST JSON codec (server/restapi/jsontensor):
# parse and write of a 3-float request and of a [64,14,6] GRU batch, with
# peers measured in the same run (encoding/json into interface{} for parsing,
# strconv shortest floats for writing). Run from the repository root.
set -e
go test -run '^$' -bench . -benchmem -count "${COUNT:-3}" ./server/restapi/jsontensor/
