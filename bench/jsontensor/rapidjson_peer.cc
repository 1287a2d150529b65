// rapidjson_peer: the TF Serving side of bench/jsontensor. For each body
// file it times what TF Serving's FillPredictRequestFromJson does before
// its tensor checks: parse the body with rapidjson 1.1.0 into a Document
// through a MemoryStream wrapped in an EncodedInputStream<UTF8>, with the
// parse flags of tensorflow_serving/util/json_tensor.cc, then walk
// "instances" (GetDenseTensorShape, then FillTensorProto's per-level size
// checks) and append each value to a vector (float via GetFloat, as
// add_float_val; strings copied, as add_string_val). Our own benchmark
// does the same work and more (signature lookup, every TF Serving check).
//
// Usage: rapidjson_peer [-flags iterative|recursive] [-mintime SECONDS] FILE...
// Prints one line per file: name, bytes, ns/op, MB/s (MB = 10^6 bytes, as
// go test's MB/s).
//
// "iterative" is kParseIterativeFlag | kParseNanAndInfFlag |
// kParseStopWhenDoneFlag (the flags at tensorflow/serving 9d981c5c, which
// server/restapi/jsontensor matches); "recursive" is kParseNanAndInfFlag
// alone, as in later json_tensor.cc. Neither sets kParseFullPrecisionFlag,
// so numbers are converted the same way under both.
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "rapidjson/document.h"
#include "rapidjson/encodedstream.h"
#include "rapidjson/memorystream.h"

namespace {

struct Out {
  std::vector<float> f;
  std::vector<std::string> s;
};

void Shape(const rapidjson::Value& v, std::vector<size_t>* shape) {
  const rapidjson::Value* p = &v;
  while (p->IsArray()) {
    shape->push_back(p->Size());
    if (p->Size() == 0) break;
    p = &(*p)[0];
  }
}

bool Fill(const rapidjson::Value& v, size_t level, const std::vector<size_t>& shape, Out* out) {
  if (!v.IsArray()) {
    if (level != shape.size()) return false;
    if (v.IsNumber()) {
      out->f.push_back(v.GetFloat());
      return true;
    }
    if (v.IsString()) {
      out->s.emplace_back(v.GetString(), v.GetStringLength());
      return true;
    }
    return false;
  }
  if (level >= shape.size() || v.Size() != shape[level]) return false;
  for (const auto& e : v.GetArray()) {
    if (!Fill(e, level + 1, shape, out)) return false;
  }
  return true;
}

template <unsigned flags>
size_t Decode(const std::string& body) {
  rapidjson::Document doc;
  rapidjson::MemoryStream ms(body.data(), body.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(ms);
  if (doc.ParseStream<flags>(is).HasParseError() || !doc.IsObject()) {
    std::fprintf(stderr, "parse error\n");
    std::exit(1);
  }
  auto it = doc.FindMember("instances");
  if (it == doc.MemberEnd() || !it->value.IsArray()) {
    std::fprintf(stderr, "no instances\n");
    std::exit(1);
  }
  std::vector<size_t> shape;
  Shape(it->value, &shape);
  Out out;
  if (!Fill(it->value, 0, shape, &out)) {
    std::fprintf(stderr, "not dense\n");
    std::exit(1);
  }
  return out.f.size() + out.s.size();
}

template <unsigned flags>
void Run(const char* path, double mintime) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string body = ss.str();
  if (body.empty()) {
    std::fprintf(stderr, "%s: empty\n", path);
    std::exit(1);
  }
  size_t sink = Decode<flags>(body);  // warm up
  using clock = std::chrono::steady_clock;
  long n = 1;
  double secs = 0;
  for (;;) {
    auto t0 = clock::now();
    for (long i = 0; i < n; i++) sink += Decode<flags>(body);
    secs = std::chrono::duration<double>(clock::now() - t0).count();
    if (secs >= mintime) break;
    n *= 2;
  }
  double ns = secs * 1e9 / n;
  std::printf("%s\t%zu\t%.0f\t%.1f\t%zu\n", path, body.size(), ns, body.size() / ns * 1e3, sink % 10);
}

}  // namespace

int main(int argc, char** argv) {
  // TF Serving links tcmalloc, which keeps freed memory for reuse. glibc's
  // malloc instead gives the top of its heap back to the kernel when a
  // parse's Document and vectors are freed, so that every parse of this loop
  // would pay page faults on fresh memory (3x the parse time on the GRU
  // body). Keep the memory, as tcmalloc does.
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  bool iterative = true;
  double mintime = 1.0;
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    if (std::strcmp(argv[i], "-flags") == 0) {
      iterative = std::strcmp(argv[i + 1], "recursive") != 0;
    } else if (std::strcmp(argv[i], "-mintime") == 0) {
      mintime = std::atof(argv[i + 1]);
    }
  }
  constexpr unsigned kIter = rapidjson::kParseIterativeFlag | rapidjson::kParseNanAndInfFlag |
                             rapidjson::kParseStopWhenDoneFlag;
  constexpr unsigned kRec = rapidjson::kParseNanAndInfFlag;
  for (; i < argc; i++) {
    if (iterative) {
      Run<kIter>(argv[i], mintime);
    } else {
      Run<kRec>(argv[i], mintime);
    }
  }
  return 0;
}
