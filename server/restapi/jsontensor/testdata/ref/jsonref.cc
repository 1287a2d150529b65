// Reference oracle for the jsontensor tests. It runs the real libraries TF
// Serving uses (rapidjson 1.1.0, abseil) on test inputs and prints what they
// produce, so the Go tests can compare byte for byte. It is not part of the
// build: see run.sh, which regenerates cases.out from cases.in.
//
// Input lines (one command each), output one line per input line:
//   P <base64 body>   parse as TF Serving does (iterative, NaN/Inf, stop when
//                     done). Prints "ERR <offset> <message>" or
//                     "OK <dom dump> <base64 debug string>".
//   F32 <hex bits> / F64 <hex bits>
//                     TF Serving's WriteDecimal text, via absl.
//   W <base64 script> run a PrettyWriter event script; prints base64 output.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rapidjson/document.h"
#include "rapidjson/encodedstream.h"
#include "rapidjson/error/en.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/prettywriter.h"
#include "rapidjson/stringbuffer.h"

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

// A rapidjson handler that forwards to a PrettyWriter until the output
// reaches a byte budget (the behaviour of TF Serving's debug strings).
class Budget {
 public:
  Budget(rapidjson::StringBuffer* b, Writer* w, size_t max) : b_(b), w_(w), max_(max) {}
  bool Null() { return room() && w_->Null(); }
  bool Bool(bool v) { return room() && w_->Bool(v); }
  bool Int(int v) { return room() && w_->Int(v); }
  bool Uint(unsigned v) { return room() && w_->Uint(v); }
  bool Int64(int64_t v) { return room() && w_->Int64(v); }
  bool Uint64(uint64_t v) { return room() && w_->Uint64(v); }
  bool Double(double v) { return room() && w_->Double(v); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool c) { return room() && w_->RawNumber(s, n, c); }
  bool String(const char* s, rapidjson::SizeType n, bool c) { return room() && w_->String(s, n, c); }
  bool StartObject() { return room() && w_->StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool c) { return room() && w_->Key(s, n, c); }
  bool EndObject(rapidjson::SizeType n) { return room() && w_->EndObject(n); }
  bool StartArray() { return room() && w_->StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return room() && w_->EndArray(n); }

 private:
  bool room() const { return b_->GetSize() < max_; }
  rapidjson::StringBuffer* b_;
  Writer* w_;
  size_t max_;
};

std::string B64(const std::string& s) {
  std::string out;
  absl::Base64Escape(s, &out);
  return out.empty() ? "-" : out;
}

std::string Unb64(const std::string& s) {
  std::string out;
  if (s != "-") absl::Base64Unescape(s, &out);
  return out;
}

void Dump(const rapidjson::Value& v, std::string* out) {
  if (v.IsNull()) {
    *out += "n";
  } else if (v.IsFalse()) {
    *out += "f";
  } else if (v.IsTrue()) {
    *out += "t";
  } else if (v.IsObject()) {
    *out += absl::StrCat("{", v.MemberCount(), ",");
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      Dump(m->name, out);
      Dump(m->value, out);
    }
    *out += "}";
  } else if (v.IsArray()) {
    *out += absl::StrCat("[", v.Size(), ",");
    for (const auto& e : v.GetArray()) Dump(e, out);
    *out += "]";
  } else if (v.IsString()) {
    *out += "s" + B64(std::string(v.GetString(), v.GetStringLength())) + ",";
  } else {
    int flags = (v.IsInt() ? 1 : 0) | (v.IsUint() ? 2 : 0) | (v.IsInt64() ? 4 : 0) |
                (v.IsUint64() ? 8 : 0) | (v.IsDouble() ? 16 : 0);
    uint64_t bits;
    if (v.IsDouble()) {
      double d = v.GetDouble();
      std::memcpy(&bits, &d, 8);
    } else if (v.IsInt64()) {
      bits = static_cast<uint64_t>(v.GetInt64());
    } else {
      bits = v.GetUint64();
    }
    *out += absl::StrFormat("d%d:%x,", flags, bits);
  }
}

void Parse(const std::string& body) {
  rapidjson::Document doc;
  rapidjson::MemoryStream ms(body.data(), body.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(ms);
  constexpr auto flags = rapidjson::kParseIterativeFlag | rapidjson::kParseNanAndInfFlag |
                         rapidjson::kParseStopWhenDoneFlag;
  if (doc.ParseStream<flags>(is).HasParseError()) {
    std::cout << "ERR " << doc.GetErrorOffset() << " " << rapidjson::GetParseError_En(doc.GetParseError()) << "\n";
    return;
  }
  std::string dump;
  Dump(doc, &dump);
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.SetFormatOptions(rapidjson::kFormatSingleLineArray);
  Budget b(&buf, &w, 256);
  doc.Accept(b);
  std::cout << "OK " << dump << " " << B64(buf.GetString()) << "\n";
}

template <typename T>
std::string Decimal(T v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return std::signbit(v) ? "-Infinity" : "Infinity";
  std::string s = absl::StrCat(v);
  T back;
  bool ok = std::is_same<T, float>::value ? absl::SimpleAtof(s, reinterpret_cast<float*>(&back))
                                          : absl::SimpleAtod(s, reinterpret_cast<double*>(&back));
  if (!ok || back != v) s = absl::StrFormat("%.*g", std::numeric_limits<T>::max_digits10, v);
  if (s.find('.') == std::string::npos && s.find('e') == std::string::npos) s += ".0";
  return s;
}

// Script tokens, space separated: { } [ ] (start/end object/array),
// k<b64> (key), s<b64> (string), r<text> (raw number), L1/L0 (single-line
// arrays on/off).
void Script(const std::string& script) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  std::istringstream in(script);
  std::string t;
  while (in >> t) {
    if (t == "{") w.StartObject();
    else if (t == "}") w.EndObject();
    else if (t == "[") w.StartArray();
    else if (t == "]") w.EndArray();
    else if (t == "L1") w.SetFormatOptions(rapidjson::kFormatSingleLineArray);
    else if (t == "L0") w.SetFormatOptions(rapidjson::kFormatDefault);
    else if (t[0] == 'k') { std::string k = Unb64(t.substr(1)); w.Key(k.data(), k.size()); }
    else if (t[0] == 's') { std::string s = Unb64(t.substr(1)); w.String(s.data(), s.size()); }
    else if (t[0] == 'r') w.RawValue(t.data() + 1, t.size() - 1, rapidjson::kNumberType);
  }
  std::cout << B64(std::string(buf.GetString(), buf.GetSize())) << "\n";
}

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    auto sp = line.find(' ');
    std::string cmd = line.substr(0, sp), arg = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (cmd == "P") {
      Parse(Unb64(arg));
    } else if (cmd == "F32") {
      uint32_t bits = std::stoul(arg, nullptr, 16);
      float f;
      std::memcpy(&f, &bits, 4);
      std::cout << Decimal(f) << "\n";
    } else if (cmd == "F64") {
      uint64_t bits = std::stoull(arg, nullptr, 16);
      double d;
      std::memcpy(&d, &bits, 8);
      std::cout << Decimal(d) << "\n";
    } else if (cmd == "W") {
      Script(Unb64(arg));
    } else {
      std::cout << "?\n";
    }
  }
}
