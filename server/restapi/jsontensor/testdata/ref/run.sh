#!/bin/sh
# Regenerates cases.in and cases.out (needs g++, rapidjson-dev, libabsl-dev:
# apt-get install -y rapidjson-dev libabsl-dev). Run from this directory.
set -e
g++ -O1 -std=c++17 -o /tmp/jsonref jsonref.cc $(pkg-config --libs absl_strings absl_str_format)
/usr/bin/python3 gen_cases.py > cases.in
/tmp/jsonref < cases.in > cases.out
wc -l cases.in cases.out
